package backoff

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestExponential(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{-1, 10 * time.Millisecond}, {0, 10 * time.Millisecond}, {1, 20 * time.Millisecond}, {3, 80 * time.Millisecond}, {4, 100 * time.Millisecond}, {5000, 100 * time.Millisecond}} {
		if got := Exponential(10*time.Millisecond, 100*time.Millisecond, tc.attempt); got != tc.want {
			t.Errorf("Exponential(attempt %d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

func TestFullJitterWithinRange(t *testing.T) {
	seen := map[bool]bool{}
	for range 1000 {
		d := FullJitter(10*time.Millisecond, time.Second, 2)
		if d < 0 || d >= 40*time.Millisecond {
			t.Fatalf("FullJitter = %v, want in [0, 40ms)", d)
		}
		seen[d < 20*time.Millisecond] = true
	}
	if len(seen) != 2 {
		t.Error("FullJitter never spread over its range")
	}
	if d := FullJitter(0, time.Second, 3); d != 0 {
		t.Errorf("FullJitter of a zero base = %v", d)
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if d := Jitter(time.Second, 0.1); d < 900*time.Millisecond || d > 1100*time.Millisecond {
			t.Fatalf("Jitter = %v, want within 10 %% of 1 s", d)
		}
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v", err)
	}
}

func TestPause(t *testing.T) {
	p := &Pause{Base: 100 * time.Millisecond, Max: 300 * time.Millisecond}
	now := time.Unix(0, 0)
	if !p.Admit(now) {
		t.Fatal("a healthy backend was refused")
	}
	p.Failure(now)
	if p.Admit(now.Add(50*time.Millisecond)) || !p.Paused(now.Add(50*time.Millisecond)) {
		t.Fatal("a request went through during the pause")
	}
	later := now.Add(100 * time.Millisecond)
	if !p.Admit(later) {
		t.Fatal("no probe after the pause")
	}
	if p.Admit(later) {
		t.Fatal("a second probe while the first is in flight")
	}
	p.Failure(later) // the probe failed: the pause doubles
	if p.Admit(later.Add(150*time.Millisecond)) || !p.Admit(later.Add(200*time.Millisecond)) {
		t.Fatal("the second pause is not twice the first")
	}
	p.Abandon() // the probe's caller gave up
	if !p.Admit(later.Add(200 * time.Millisecond)) {
		t.Fatal("an abandoned probe holds the next one back")
	}
	for range 5 {
		p.Failure(later)
	}
	if p.Paused(later.Add(300*time.Millisecond)) != false {
		t.Fatal("the pause grew beyond Max")
	}
	p.Success()
	if !p.Admit(later) || p.Paused(later) {
		t.Fatal("a success did not end the pause")
	}
}

func ExamplePause() {
	p := &Pause{Base: time.Second, Max: time.Minute}
	now := time.Now()
	p.Failure(now)
	fmt.Println(p.Admit(now), p.Admit(now.Add(time.Second)), p.Admit(now.Add(time.Second)))
	// Output: false true false
}

func TestBudget(t *testing.T) {
	b := &Budget{Ratio: 0.5, Min: 2, Window: time.Second}
	now := time.Unix(100, 0)
	for range 10 {
		b.Request(now)
	}
	allowed := 0
	for range 20 {
		if b.Retry(now) {
			allowed++
		}
	}
	if allowed != 7 { // 0.5 × 10 + 2
		t.Fatalf("%d retries allowed, want 7", allowed)
	}
	// A window later the old counts are gone: only Min is left.
	later := now.Add(1100 * time.Millisecond)
	allowed = 0
	for range 20 {
		if b.Retry(later) {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d retries allowed after the window moved on, want 2", allowed)
	}
}
