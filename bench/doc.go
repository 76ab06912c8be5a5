// Package bench compares rendering strategies (SSG, SSR, ISR) on one site and one traffic pattern.
package bench
