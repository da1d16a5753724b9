// Command release is built by procutil's tests, once as the Makefile builds
// kubeadmin and once as a position-independent executable. It releases
// its start-up pages, says what happened, and then shows that it still
// works: the same computations give the same results as before the
// release, and code it never ran before runs correctly.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeadmin/kubeadmin/internal/procutil"
)

// work touches the allocator, the scheduler, maps, sorting and formatting.
func work() string {
	results := make(chan int, 8)
	for w := 0; w < 8; w++ {
		go func(w int) {
			sum := 0
			for i := w; i < 20000; i += 8 {
				sum += i * i % 7919
			}
			results <- sum
		}(w)
	}
	counts := map[string]int{}
	var keys []string
	for w := 0; w < 8; w++ {
		k := strconv.Itoa(<-results % 97)
		if counts[k]++; counts[k] == 1 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	runtime.GC()
	return fmt.Sprintf("%s %.4f %q", strings.Join(keys, ","), 2.0/3.0, strings.Repeat("ab", 3))
}

func main() {
	before := work()
	n, err := procutil.TryReleaseStartupPages()
	if err != nil {
		fmt.Println("skipped:", err)
	} else {
		fmt.Println("released", n)
	}
	if after := work(); after != before {
		fmt.Printf("after the release work() = %s, before %s\n", after, before)
		os.Exit(1)
	}
	// Code not run before the release.
	fmt.Printf("sha256 %x\n", sha256.Sum256([]byte(os.Args[0])))
}
