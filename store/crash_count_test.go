//go:build !soak

package store

// crashKills is the number of SIGKILLs in the default run.
const crashKills = 36
