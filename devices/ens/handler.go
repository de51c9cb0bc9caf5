package ens

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/borderpost/borderpost/devices"
)

// Path is where Handler answers.
const Path = "/v1/ens"

// DefaultCheckTimeout bounds one call to the Checker when no timeout is
// configured.
const DefaultCheckTimeout = 10 * time.Second

// Handler receives declarations over HTTP: POST /v1/ens with Content-Type
// application/xml (ICS1) or application/json (ICS2 form or HMRC's). It
// answers 200 with the Checker's devices.Result (plus "faults" listing the
// fields left out of the check because they failed Validate), 400 with a
// JSON body listing every fault when the document is refused, 413 when it
// exceeds Limits.MaxBytes, 415 for another media type, 405 for another
// method and 503 when the Checker fails (the check may have been recorded,
// so a sender must not resend blindly).
type Handler struct {
	// Checker receives one Check per accepted declaration.
	Checker devices.Checker
	// Device names this feed in Checks (default "ens").
	Device string
	Limits Limits
	// Strict refuses (400) a declaration with any Validate fault instead
	// of checking its valid fields and reporting the rest.
	Strict bool
	// CheckTimeout bounds the Checker call (default DefaultCheckTimeout).
	CheckTimeout time.Duration
	// Log receives one line per refused or failed request, with fault
	// paths but never field values. Nil means slog.Default().
	Log *slog.Logger
}

// response is the body of every answer: a Result on success, an error and
// faults otherwise.
type response struct {
	devices.Result
	Error  string       `json:"error,omitempty"`
	Faults []FieldError `json:"faults,omitempty"`
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Handler) device() string {
	if h.Device != "" {
		return h.Device
	}
	return "ens"
}

func writeJSON(w http.ResponseWriter, status int, body response) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if body.Hits == nil && status == http.StatusOK {
		body.Hits = []devices.Hit{}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		writeJSON(w, http.StatusNotFound, response{Error: "not found"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, response{Error: "use POST"})
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != MediaXML && mt != MediaJSON && mt != "text/xml") {
		writeJSON(w, http.StatusUnsupportedMediaType, response{Error: "Content-Type must be application/xml or application/json"})
		return
	}
	lim := h.Limits.withDefaults()
	if r.ContentLength > lim.MaxBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, response{Error: ErrTooLarge.Error()})
		return
	}
	body := http.MaxBytesReader(w, r.Body, lim.MaxBytes+1)
	out, err := checkDeclaration(r.Context(), body, mt, lim, h.Strict, h.Checker, h.device(), h.CheckTimeout)
	switch {
	case errors.Is(err, ErrChecker):
		h.log().Error("ens: checker failed", "check", out.check.ID, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, response{Error: "the check could not be completed; it may have been recorded"})
		return
	case err != nil:
		h.refuse(w, r, err)
		return
	}
	faults := out.faultList()
	if len(faults) > 0 {
		h.log().Warn("ens: declaration checked with fields left out", "check", out.check.ID, "faults", len(faults), "first", faults[0].Path)
	}
	writeJSON(w, http.StatusOK, response{Result: out.result, Faults: faults})
}

// refuse answers a document that was not checked.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	body := response{Error: err.Error()}
	var ve *ValidationError
	if errors.As(err, &ve) {
		body.Error = "declaration refused: " + ve.Errors[0].Path + " and " + strconv.Itoa(len(ve.Errors)-1) + " more fault(s)"
		body.Faults = ve.Errors
		h.log().Warn("ens: declaration refused", "remote", r.RemoteAddr, "faults", len(ve.Errors), "first", ve.Errors[0].Path)
	} else {
		h.log().Warn("ens: declaration refused", "remote", r.RemoteAddr, "err", err)
	}
	writeJSON(w, status, body)
}

// NewServer returns an http.Server for h on addr with every timeout set,
// so that a slow or stalled sender cannot hold a connection open.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}
