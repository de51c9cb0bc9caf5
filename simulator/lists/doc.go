// Package lists turns published watch lists into store alerts and two
// versions of a list into a delta: the OFAC SDN legacy CSV files, the UN
// Security Council consolidated list XML, and a simple CSV form a national
// team can export (README.md documents all three and their mappings).
//
// It owns the mapping from those formats to store.Alert and the content
// version of each alert: a hash of what the alert says, so an unchanged
// entry keeps its version across snapshots and Diff sends only real
// changes.
//
// It must never log or put into error strings the names, numbers or
// remarks of the list entries it reads: errors name the file, the line or
// record and the field, never its value. It reads from io.Reader and fs.FS
// and never touches the network.
package lists
