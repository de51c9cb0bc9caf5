package readhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/internal/jsonread"
)

// Handler defaults, used where a field is left zero.
const (
	DefaultReadTimeout = 10 * time.Second
	DefaultMaxInFlight = 16
)

// Read is a decoded read that can become a Check: device names the source
// when the read names none, now is used when it carries no time. Errors
// should be *jsonread.FieldError naming the field.
type Read interface {
	Check(device string, now time.Time) (devices.Check, error)
}

// Handler serves one POST endpoint: a body holding one JSON read or a JSON
// array of 1 to MaxBatch reads, each decoded by Parse. It answers
//
//   - 200 with a devices.Result for one read, or for an array a list of
//     BatchEntry, one per read in order: each read is checked on its own;
//   - 400 with an ErrorBody when the body or the single read is refused,
//     the field naming what is wrong;
//   - 413 when the body exceeds MaxBodyBytes, a read is refused as too
//     large as a whole, or an array holds more than MaxBatch reads;
//   - 405, 415, 408 for a wrong method, a missing or wrong content type
//     (only application/json is taken), or a body that does not
//     arrive within ReadTimeout; 503 when MaxInFlight requests are being
//     served (so one flooding device cannot queue work for the others);
//     500 when the Checker fails.
//
// Set the fields before serving and do not change them afterwards.
type Handler[R Read] struct {
	// Source names the device package in log messages ("anpr"). Required.
	Source string
	// Parse decodes one JSON read strictly. Required.
	Parse func(data []byte) (R, error)
	// MaxBatch is the most reads one array may hold. Required.
	MaxBatch int
	// MaxBodyBytes limits the request body. Required, above zero.
	MaxBodyBytes int64
	// Checker receives one Check per accepted read. Required.
	Checker devices.Checker
	// Device is passed to Read.Check for reads that name no device.
	Device string
	// ReadTimeout bounds reading the body; zero means DefaultReadTimeout.
	ReadTimeout time.Duration
	// MaxInFlight bounds requests served at once; zero means
	// DefaultMaxInFlight.
	MaxInFlight int
	// Logger receives refusals (without values) and Checker failures; nil
	// means slog.Default().
	Logger *slog.Logger
	// Now is the clock passed to Read.Check; nil means time.Now.
	Now func() time.Time

	once     sync.Once
	inFlight chan struct{}
}

// ErrorBody is the JSON body of an error answer.
type ErrorBody struct {
	Error APIError `json:"error"`
}

// APIError describes one refused read or request to its sender.
type APIError struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// BatchEntry is the answer for one read of an array: Result when it was
// checked, Error when it was refused.
type BatchEntry struct {
	Index  int             `json:"index"`
	Result *devices.Result `json:"result,omitempty"`
	Error  *APIError       `json:"error,omitempty"`
}

func (h *Handler[R]) init() {
	n := h.MaxInFlight
	if n <= 0 {
		n = DefaultMaxInFlight
	}
	h.inFlight = make(chan struct{}, n)
	if h.Now == nil {
		h.Now = time.Now
	}
}

func (h *Handler[R]) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// ServeHTTP implements http.Handler; see Handler.
func (h *Handler[R]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method: use POST")
		return
	}
	// A missing type is refused too: text/plain, form and multipart bodies
	// are what a web page may post cross-origin without asking first, and
	// only application/json makes a browser ask (and be refused).
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "content type: send Content-Type: application/json")
		return
	}
	select {
	case h.inFlight <- struct{}{}:
		defer func() { <-h.inFlight }()
	default:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "busy: too many requests in flight, retry")
		return
	}

	timeout := h.ReadTimeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	// Not every ResponseWriter supports deadlines (httptest's does not);
	// the agent's server then relies on its own ReadTimeout.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(timeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBodyBytes))
	if err != nil {
		// The deadline stays: net/http drains the rest of the body before
		// answering, and must not wait for a stalled client.
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: %v: at most %d bytes", jsonread.ErrTooLarge, h.MaxBodyBytes))
		case errors.Is(err, os.ErrDeadlineExceeded):
			writeError(w, http.StatusRequestTimeout, "body: not received in time")
		default:
			writeError(w, http.StatusBadRequest, "body: could not be read")
		}
		return
	}
	// Clear the deadline so that it cannot cut the connection's next
	// request short when the server sets no read timeout of its own.
	_ = rc.SetReadDeadline(time.Time{})

	reads, batch, err := jsonread.Body(body, h.MaxBatch, h.Parse)
	if err != nil {
		h.logger().Debug(h.Source+": request refused", "remote", r.RemoteAddr, "err", err)
		writeReadError(w, err)
		return
	}
	if !batch {
		res, err := h.check(r.Context(), reads[0])
		if err != nil {
			if errors.Is(err, ErrCheck) {
				writeError(w, http.StatusInternalServerError, ErrCheck.Error())
				return
			}
			h.logger().Debug(h.Source+": read refused", "remote", r.RemoteAddr, "err", err)
			writeReadError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
		return
	}
	out := make([]BatchEntry, len(reads))
	for i, e := range reads {
		out[i].Index = i
		res, err := h.check(r.Context(), e)
		if err != nil {
			ae := toAPIError(err)
			out[i].Error = &ae
			continue
		}
		out[i].Result = &res
	}
	writeJSON(w, http.StatusOK, out)
}

// check converts one decoded read and hands it to the Checker. A Checker
// failure comes back as ErrCheck, its detail logged here.
func (h *Handler[R]) check(ctx context.Context, e jsonread.Entry[R]) (devices.Result, error) {
	if e.Err != nil {
		return devices.Result{}, e.Err
	}
	c, err := e.Read.Check(h.Device, h.Now())
	if err != nil {
		return devices.Result{}, err
	}
	res, err := h.Checker.Check(ctx, c)
	if err != nil {
		h.logger().Error(h.Source+": check failed", "device", c.Device, "err", err)
		return devices.Result{}, ErrCheck
	}
	if res.Hits == nil {
		res.Hits = []devices.Hit{}
	}
	return res, nil
}

// toAPIError splits err into the field it names and its message.
func toAPIError(err error) APIError {
	var fe *jsonread.FieldError
	if errors.As(err, &fe) {
		return APIError{Field: fe.Field, Message: fe.Error()}
	}
	return APIError{Message: err.Error()}
}

// writeReadError answers a refused body or read: 413 when the read as a
// whole is too large, 400 otherwise.
func writeReadError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	var fe *jsonread.FieldError
	if errors.As(err, &fe) && fe.Field == "" && errors.Is(err, jsonread.ErrTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	writeJSON(w, status, ErrorBody{Error: toAPIError(err)})
}

// writeError answers a refused request that concerns no field.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorBody{Error: APIError{Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
