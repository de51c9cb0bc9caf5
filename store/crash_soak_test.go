//go:build soak

package store

// crashKills under `-tags soak`.
const crashKills = 300
