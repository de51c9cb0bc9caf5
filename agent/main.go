// Command borderpost is the agent that runs at a border crossing point: it
// holds the encrypted watch-list replica, checks what arrives against it,
// shows hits to officers and syncs them to central.
package main

import (
	"os"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		os.Exit(1)
	}
}
