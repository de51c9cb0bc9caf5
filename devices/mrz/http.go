package mrz

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/borderpost/borderpost/devices"
)

// HTTPPath is where the agent mounts Handler.
const HTTPPath = "/v1/mrz"

// Handler serves POST /v1/mrz: one zone per request, as JSON
//
//	{"lines": ["...", "..."], "device": "...", "lane": "..."}
//
// (device and lane optional; unknown fields refused) or as text/plain with
// one zone line per line (device and lane as query parameters). It answers
// 200 with the devices.Result as JSON, or an error status with a JSON body
// {"error": "...", "field": "..."}: 400 for a zone or request that does not
// parse, 403 for a text/plain request that a web page sent (it carries
// Origin or Sec-Fetch-Site), 405 for another method, 413 over MaxBody, 415
// for another media type or none, 500 when the Checker fails. Bodies must be UTF-8 without control
// characters. The zero value is not usable: Checker must be set.
type Handler struct {
	Checker devices.Checker
	Device  string // device named in the Check when the request names none
	Lane    string // lane likewise
	MaxBody int64  // request body limit; 0 means DefaultMaxBody
	// Now gives the time of each Check and the reference for two-digit
	// years; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger // nil means slog.Default()
}

// NewHandler returns a Handler for checker configured from c.
func NewHandler(checker devices.Checker, c Config, logger *slog.Logger) *Handler {
	return &Handler{Checker: checker, Device: c.Device, Lane: c.Lane, MaxBody: c.MaxBody, Logger: logger}
}

// request is the JSON body of POST /v1/mrz.
type request struct {
	Lines  []string `json:"lines"`
	Device string   `json:"device"`
	Lane   string   `json:"lane"`
}

// errorBody is the JSON body of every refusal.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, http.StatusMethodNotAllowed, fmt.Errorf("%w: method %s not allowed; use POST", ErrRequest, r.Method))
		return
	}
	req, status, err := h.decode(w, r)
	if err != nil {
		h.refuse(w, r, status, err)
		return
	}
	at := h.now()
	doc, err := Parse(req.Lines, at)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, err)
		return
	}
	check := doc.Check(cmp.Or(req.Device, h.Device), cmp.Or(req.Lane, h.Lane), at)
	res, err := h.Checker.Check(r.Context(), check)
	if err != nil {
		// The cause may name the document; it goes to the log as the
		// checker's error only, never to the body.
		h.logger().Error("mrz: checker failed", "transport", "http", "remote", r.RemoteAddr, "err", err)
		h.refuse(w, r, http.StatusInternalServerError, ErrCheck)
		return
	}
	if res.Hits == nil {
		res.Hits = []devices.Hit{}
	}
	writeJSON(w, http.StatusOK, res)
}

// decode reads and validates the body into a request.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request) (request, int, error) {
	var req request
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return req, http.StatusUnsupportedMediaType, fmt.Errorf("%w: Content-Type must be application/json or text/plain", ErrRequest)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return req, http.StatusUnsupportedMediaType, fmt.Errorf("%w: charset %q not accepted; send UTF-8", ErrRequest, cs)
	}
	if mt != "application/json" && mt != "text/plain" {
		return req, http.StatusUnsupportedMediaType, fmt.Errorf("%w: Content-Type %s not accepted; use application/json or text/plain", ErrRequest, mt)
	}
	// text/plain is a type a web page may post cross-origin without the
	// browser asking first; browsers name the page's origin on every POST,
	// readers never do, so a text body that carries an origin is refused.
	if mt == "text/plain" && (r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "") {
		return req, http.StatusForbidden, fmt.Errorf("%w: text/plain from a web page refused; readers send no Origin header", ErrRequest)
	}
	limit := orDefault(h.MaxBody, DefaultMaxBody)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return req, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: body over %d bytes", ErrRequest, limit)
		}
		return req, http.StatusBadRequest, fmt.Errorf("%w: reading body: %v", ErrRequest, err)
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		return req, http.StatusBadRequest, fmt.Errorf("%w: body is not valid UTF-8", ErrRequest)
	}
	if mt == "application/json" {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return req, http.StatusBadRequest, fmt.Errorf("%w: JSON: %s", ErrRequest, strings.TrimPrefix(err.Error(), "json: "))
		}
		if _, err := dec.Token(); err != io.EOF {
			return req, http.StatusBadRequest, fmt.Errorf("%w: JSON: data after the object", ErrRequest)
		}
		if req.Lines == nil {
			return req, http.StatusBadRequest, fmt.Errorf("%w: JSON: \"lines\" is missing", ErrRequest)
		}
	} else {
		if i := strings.IndexFunc(string(body), func(r rune) bool { return r != '\n' && r != '\r' && unicode.IsControl(r) }); i >= 0 {
			return req, http.StatusBadRequest, fmt.Errorf("%w: body holds a control character at byte %d", ErrRequest, i+1)
		}
		req.Lines = strings.Split(strings.Trim(string(body), "\r\n"), "\n")
		q := r.URL.Query()
		req.Device, req.Lane = q.Get("device"), q.Get("lane")
	}
	for i, s := range req.Lines {
		req.Lines[i] = strings.Trim(s, " \t\r")
	}
	for name, v := range map[string]string{"device": req.Device, "lane": req.Lane} {
		if len(v) > maxLabel {
			return req, http.StatusBadRequest, fmt.Errorf("%w: %s is over %d bytes", ErrRequest, name, maxLabel)
		}
		if strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return req, http.StatusBadRequest, fmt.Errorf("%w: %s holds a control character", ErrRequest, name)
		}
	}
	for i, s := range req.Lines {
		// Parse reports bytes, not runes; say so here for anything beyond ASCII.
		if j := strings.IndexFunc(s, func(r rune) bool { return r > unicode.MaxASCII || unicode.IsControl(r) }); j >= 0 {
			return req, http.StatusBadRequest, &FieldError{Field: FieldLine, Line: i + 1, Pos: j + 1, Err: ErrCharacter,
				Msg: fmt.Sprintf("line %d position %d holds a character that is not ASCII or is a control character; expected A-Z, 0-9 or '<'", i+1, j+1)}
		}
	}
	return req, 0, nil
}

// refuse writes a JSON error and logs the refusal without the input.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, err error) {
	body := errorBody{Error: err.Error()}
	var fe *FieldError
	if errors.As(err, &fe) {
		body.Field = fe.Field
	}
	if status != http.StatusInternalServerError {
		h.logger().Info("mrz: request refused", "transport", "http", "remote", r.RemoteAddr, "status", status, "field", body.Field, "kind", kind(err))
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// kind names the sentinel an error wraps, for logs.
func kind(err error) string {
	for _, s := range []error{ErrFormat, ErrCharacter, ErrCheckDigit, ErrDate, ErrUnsupported, ErrRequest, ErrLine, ErrIncomplete, ErrCheck} {
		if errors.Is(err, s) {
			return strings.TrimPrefix(s.Error(), "mrz: ")
		}
	}
	return "other"
}
