package disk

// abandon lets go of s as a process killed outright would: the pending
// writes it has (tests call it with none) are written, but nothing is
// folded or flushed, and the lock is released without removing its file.
func (s *Store) abandon() {
	s.opMu.Lock()
	s.closed = true
	s.opMu.Unlock()
	if !s.batch {
		s.stopWriters()
	}
	close(s.compactCh)
	<-s.compactDone
	s.j.mu.Lock()
	if s.j.f != nil {
		s.j.f.Close()
		s.j.f = nil
	}
	s.j.mu.Unlock()
	s.lock.release(false)
}
