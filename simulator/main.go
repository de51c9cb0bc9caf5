// Command simulator plays central and the field for borderpost: the demo,
// the end-to-end tests and the benchmarks run on it.
package main

import (
	"os"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		os.Exit(1)
	}
}
