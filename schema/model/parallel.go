package model

import (
	"runtime"
	"sync"
)

// Parallel calls f(0) … f(n-1) on GOMAXPROCS goroutines and waits for them. The loader's
// checks and the plan use it to work on chunks of people on every core.
func Parallel(n int, f func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
