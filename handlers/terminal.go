package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/agent"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
	"nhooyr.io/websocket"
)

// TerminalEngine finds a task's container and starts a shell in it (here or through the node's agent).
type TerminalEngine interface {
	Container(ctx context.Context, id string) (swarm.Container, error)
	StartExec(ctx context.Context, ct swarm.Container, o swarm.ExecOptions) (*swarm.Exec, error)
}

// Terminal limits (the idle timeout and the maximum length are settings).
const (
	terminalPing      = 20 * time.Second
	terminalReadLimit = 64 * 1024 // one message: a paste, or a resize
)

// terminalPolicy is the terminal page's CSP: xterm.js's renderer sets styles at run
// time, so this page (and only it) allows inline styles; scripts stay 'self'.
const terminalPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// TerminalPage is the page with the terminal of one container.
func (h *Handlers) TerminalPage(c echo.Context) error {
	ct, err := h.engine.Container(c.Request().Context(), c.Param("container"))
	if errors.Is(err, swarm.ErrRemoteNode) {
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	if err != nil {
		return err
	}
	if err := h.denied(c, "terminal.open", "container:"+shortID(ct.ID), h.engine.CheckContainer(c.Request().Context(), ct)); err != nil {
		return err
	}
	if sh := c.QueryParam("shell"); sh != "" && !slices.Contains(agent.TerminalShells, sh) {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "The shell must be one of "+strings.Join(agent.TerminalShells, ", ")+".")
	}
	q := url.Values{"csrf": {h.csrfToken(c)}}
	for _, k := range []string{"shell", "user", "workdir"} {
		if v := c.QueryParam(k); v != "" {
			q.Set(k, v)
		}
	}
	v := views.TerminalView{ContainerID: ct.ID, Service: ct.Service, Node: ct.Node, Shell: c.QueryParam("shell"), User: c.QueryParam("user"),
		WorkDir: c.QueryParam("workdir"), SocketPath: "/terminal/" + ct.ID + "/ws?" + q.Encode()}
	if v.Service == "" {
		v.Service = ct.Name
	}
	settings, err := h.store.Terminal(c.Request().Context())
	if err != nil {
		return err
	}
	v.Recorded = settings.Record
	c.Response().Header().Set("Content-Security-Policy", terminalPolicy)
	p := h.page(c, "Terminal "+v.Service, "services")
	return h.render(c, http.StatusOK, p, views.TerminalPage(p, v))
}

// terminalMessage is what the browser sends: keystrokes or a new size.
type terminalMessage struct {
	Type string `json:"type"`
	Data string `json:"data"`
	Cols uint   `json:"cols"`
	Rows uint   `json:"rows"`
}

// TerminalSocket carries a shell in a container over a websocket: binary frames
// out, JSON input and resize messages in, and the exit code at the end.
func (h *Handlers) TerminalSocket(c echo.Context) error {
	want := h.sessions.GetString(c.Request().Context(), sessCSRF)
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(c.QueryParam("csrf"))) != 1 {
		return errCSRF
	}
	// The default origin check refuses pages of other sites.
	ws, err := websocket.Accept(c.Response(), c.Request(), nil)
	if err != nil {
		return nil // Accept has answered already
	}
	defer ws.CloseNow()
	ws.SetReadLimit(terminalReadLimit)
	settings, err := h.store.Terminal(c.Request().Context())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), settings.MaxSession)
	defer cancel()
	fail := func(msg string) error {
		writeJSON(ctx, ws, map[string]string{"type": "error", "message": msg})
		ws.Close(websocket.StatusPolicyViolation, truncate(msg, 120))
		return nil
	}
	ct, err := h.engine.Container(ctx, c.Param("container"))
	if err != nil {
		return fail(err.Error())
	}
	if err := h.denied(c, "terminal.open", "container:"+shortID(ct.ID), h.engine.CheckContainer(ctx, ct)); err != nil {
		return fail(err.Error())
	}
	if !ct.Running {
		return fail("The container " + ct.Name + " is not running: open the terminal of a running task.")
	}
	cols, _ := strconv.ParseUint(c.QueryParam("cols"), 10, 16)
	rows, _ := strconv.ParseUint(c.QueryParam("rows"), 10, 16)
	x, err := h.engine.StartExec(ctx, ct, swarm.ExecOptions{Shell: c.QueryParam("shell"), User: c.QueryParam("user"), WorkDir: c.QueryParam("workdir"), Cols: uint(cols), Rows: uint(rows)})
	if err != nil {
		h.audit(c, "terminal.open", "container:"+shortID(ct.ID), "failed: "+err.Error(), "")
		return fail("The shell could not start: " + err.Error())
	}
	defer x.Close()
	object := fmt.Sprintf("container:%s (service %s, node %s)", shortID(ct.ID), ct.Service, ct.Node)
	start := time.Now()
	var rec *castRecorder
	if settings.Record {
		rec = newCastRecorder(uint(cols), uint(rows), x.Shell, start)
		writeJSON(ctx, ws, map[string]string{"type": "notice", "message": "This session's output is recorded."})
	}
	h.audit(c, "terminal.open", object, "ok", "shell "+x.Shell)

	exitCode, reason := h.pumpTerminal(ctx, ws, x, settings, rec)
	detail := fmt.Sprintf("%s after %s, exit code %d", reason, time.Since(start).Round(time.Second), exitCode)
	if rec != nil {
		cast, truncated := rec.cast()
		id, err := h.store.SaveRecording(context.Background(), store.Recording{Actor: currentUser(c).Username, Container: ct.ID, Service: ct.Service,
			Node: ct.Node, StartedAt: start, EndedAt: time.Now(), ExitCode: exitCode, Truncated: truncated}, cast)
		if err != nil {
			h.log.Error("terminal recording lost", "container", ct.ID, "error", err)
			detail += ", recording lost: " + err.Error()
		} else {
			detail += fmt.Sprintf(", recorded as recording %d", id)
		}
	}
	h.audit(c, "terminal.close", object, "ok", detail)
	return nil
}

// pumpTerminal copies output to the browser and input to the shell until either side ends.
func (h *Handlers) pumpTerminal(ctx context.Context, ws *websocket.Conn, x *swarm.Exec, settings store.TerminalSettings, rec *castRecorder) (exitCode int, reason string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	outputDone := make(chan struct{})
	go func() {
		defer close(outputDone)
		buf := make([]byte, 32*1024)
		for {
			n, err := x.Output().Read(buf)
			if n > 0 && rec != nil {
				rec.output(buf[:n], time.Now())
			}
			if n > 0 {
				if werr := ws.Write(ctx, websocket.MessageBinary, buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	input := make(chan terminalMessage)
	readErr := make(chan error, 1)
	go func() {
		for {
			typ, data, err := ws.Read(ctx)
			if err != nil {
				readErr <- err
				return
			}
			var m terminalMessage
			if typ != websocket.MessageText || json.Unmarshal(data, &m) != nil || (m.Type != "input" && m.Type != "resize") {
				readErr <- errMalformed
				return
			}
			select {
			case input <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	idle := time.NewTimer(settings.IdleTimeout)
	defer idle.Stop()
	ping := time.NewTicker(terminalPing)
	defer ping.Stop()
	for {
		select {
		case <-outputDone:
			code := x.ExitCode(context.Background())
			writeJSON(ctx, ws, map[string]any{"type": "exit", "code": code})
			ws.Close(websocket.StatusNormalClosure, "exited")
			return code, "shell exited"
		case m := <-input:
			idle.Reset(settings.IdleTimeout)
			if m.Type == "resize" {
				if m.Cols > 0 && m.Rows > 0 && m.Cols < 1000 && m.Rows < 1000 {
					_ = x.Resize(ctx, m.Cols, m.Rows)
					if rec != nil {
						rec.resize(m.Cols, m.Rows, time.Now())
					}
				}
				continue
			}
			if _, err := io.WriteString(inputWriter{x}, m.Data); err != nil {
				return -1, "input failed"
			}
		case err := <-readErr:
			if errors.Is(err, errMalformed) {
				writeJSON(ctx, ws, map[string]string{"type": "error", "message": "Malformed message: the terminal was closed."})
				ws.Close(websocket.StatusUnsupportedData, "malformed message")
				return -1, "malformed message"
			}
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				return -1, "message too big"
			}
			return -1, "browser left"
		case <-idle.C:
			writeJSON(ctx, ws, map[string]string{"type": "error", "message": fmt.Sprintf("Closed after %s without input.", settings.IdleTimeout)})
			ws.Close(websocket.StatusNormalClosure, "idle")
			return -1, "idle timeout"
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
			err := ws.Ping(pctx)
			pcancel()
			if err != nil {
				return -1, "connection lost"
			}
		case <-ctx.Done():
			writeJSON(context.Background(), ws, map[string]string{"type": "error", "message": fmt.Sprintf("The session reached its maximum length of %s.", settings.MaxSession)})
			return -1, "maximum length"
		}
	}
}

var errMalformed = errors.New("malformed terminal message")

// inputWriter adapts the exec's input to io.Writer.
type inputWriter struct{ x *swarm.Exec }

func (w inputWriter) Write(p []byte) (int, error) { return w.x.Input(p) }

func writeJSON(ctx context.Context, ws *websocket.Conn, v any) {
	b, _ := json.Marshal(v)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = ws.Write(wctx, websocket.MessageText, b)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ContainersPage lists the running task containers on every node, each with its
// terminal where Berth can reach the node (its own, or one with a running agent).
func (h *Handlers) ContainersPage(c echo.Context) error {
	ctx := c.Request().Context()
	services, err := h.engine.Services(ctx)
	if err != nil {
		return err
	}
	_, agents, err := h.engine.Agents(ctx)
	if err != nil {
		return err
	}
	local := h.engine.Cached().NodeName
	var rows []views.ContainerRow
	for _, s := range services {
		closed := s.Reserved
		if closed == "" && len(s.Escapes) > 0 {
			closed = strings.Join(s.Escapes, "; ")
		}
		for _, t := range s.Tasks {
			if t.State != "running" || t.ContainerID == "" {
				continue
			}
			slot := strconv.Itoa(t.Slot)
			if t.Slot == 0 { // global services name their containers by node
				slot = t.NodeID
			}
			rows = append(rows, views.ContainerRow{ID: t.ContainerID, Name: s.Spec.Name + "." + slot + "." + t.ID, Service: s.Spec.Name,
				Node: t.Node, State: t.State, Reachable: t.Node == local || agents[t.NodeID].State == "running", Closed: closed})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Node+rows[i].Name < rows[j].Node+rows[j].Name })
	p := h.page(c, "Containers", "services")
	return h.render(c, http.StatusOK, p, views.ContainersPage(p, rows, canOperate(c)))
}
