// Package name is the name-matching engine of the agent: it normalises
// person and company names from any script, indexes the names of the
// alerts held in the replica, and answers "which alerts does this name
// match, how well, and why" in well under a millisecond.
//
// It owns normalisation, the variant table, the in-memory index and the
// scoring of name pairs with their explanations. It must never read or
// write the store, talk to the network, or log the names it handles: it
// is handed entries and queries and returns matches, nothing else.
package name
