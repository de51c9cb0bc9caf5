// Command simulator plays central and the field for borderpost: the demo,
// the end-to-end tests and the benchmarks run on it. Built or started
// under the name borderpost-central, it is central's tool for operators.
package main

import (
	"os"
)

func main() {
	if err := rootFor(os.Args[0]).Execute(); err != nil {
		os.Exit(1)
	}
}
