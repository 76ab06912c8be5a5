package regen_test

import (
	"fmt"

	"github.com/regen-dev/regen"
)

// A route's revalidate is the lowest declared among its segments and
// fetches, where "not declared" and false (Forever) count as infinity.
func ExampleRevalidate_Min() {
	layout := regen.Seconds(60)
	page := regen.Seconds(3600)
	fetch := regen.NotDeclared
	fmt.Println(layout.Min(page).Min(fetch))
	fmt.Println(regen.Forever.Min(regen.NotDeclared))
	fmt.Println(regen.Seconds(300).Min(regen.Never))
	fmt.Println(regen.Seconds(-5).Valid())
	// Output:
	// 60
	// false
	// 0
	// revalidate -5 (must be false, 0 or a positive number of seconds)
}

func ExampleParseDynamic() {
	for _, s := range []string{"force-static", "static"} {
		d, err := regen.ParseDynamic(s)
		fmt.Println(d, err)
	}
	// Output:
	// force-static <nil>
	//  unknown dynamic mode "static" (must be auto, force-dynamic, force-static or error)
}
