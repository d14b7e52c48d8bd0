//go:build unix

package prompt

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, user and system: on
// a machine shared with other work, the benchmarks report throughput per
// CPU second beside the wall-clock figures.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
