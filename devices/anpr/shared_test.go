package anpr

import (
	"time"

	"github.com/borderpost/borderpost/devices/internal/jsonread"
	"github.com/borderpost/borderpost/devices/internal/readhttp"
)

// The names below let this package's tests speak of the decoding and the
// HTTP answers shared through devices/internal as if they were local.

// The JSON answers of Handler.
type (
	apiError   = readhttp.APIError
	errorBody  = readhttp.ErrorBody
	batchEntry = readhttp.BatchEntry
)

// The window of times a read may carry.
var (
	minTime = time.Date(jsonread.MinYear, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(jsonread.MaxYear, 1, 1, 0, 0, 0, 0, time.UTC)
)

func checkText(s string, max int) error { return jsonread.CheckText(s, max) }

// bodyRead is one read of a request body, or the error that refused it.
type bodyRead struct {
	read Read
	err  error
}

// decodeBody splits body as Handler does.
func decodeBody(body []byte) (reads []bodyRead, batch bool, err error) {
	entries, batch, err := jsonread.Body(body, MaxBatch, ParseJSON)
	for _, e := range entries {
		reads = append(reads, bodyRead{read: e.Read, err: e.Err})
	}
	return reads, batch, err
}
