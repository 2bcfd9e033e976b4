package handlers

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// APIUsage is one service's use of an object.
type APIUsage struct {
	Service  string `json:"service"`
	Target   string `json:"target"`
	UID      string `json:"uid,omitempty"`
	GID      string `json:"gid,omitempty"`
	Mode     string `json:"mode,omitempty"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

func apiUsages(us []swarm.Usage) []APIUsage {
	out := make([]APIUsage, 0, len(us))
	for _, u := range us {
		a := APIUsage{Service: u.Service, Target: u.Target, UID: u.UID, GID: u.GID, ReadOnly: u.ReadOnly}
		if u.UID != "" || u.GID != "" || u.Mode != 0 {
			a.Mode = fmt.Sprintf("%04o", u.Mode.Perm())
		}
		out = append(out, a)
	}
	return out
}

// APIObject is a config or secret in the API; a secret never carries data.
type APIObject struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Size       *int              `json:"size,omitempty"`
	CreatedAt  string            `json:"created_at"`
	Labels     map[string]string `json:"labels"`
	UsedBy     []APIUsage        `json:"used_by"`
	Data       *string           `json:"data,omitempty"`
	DataBase64 *string           `json:"data_base64,omitempty"`
}

func apiObject(o swarm.Object, withData bool) APIObject {
	a := APIObject{ID: o.ID, Name: o.Name, CreatedAt: apiTime(o.CreatedAt), Labels: o.Labels, UsedBy: apiUsages(o.UsedBy)}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if o.Kind == swarm.KindConfig {
		size := o.Size
		a.Size = &size
		if withData {
			if utf8.Valid(o.Data) {
				s := string(o.Data)
				a.Data = &s
			} else {
				s := base64.StdEncoding.EncodeToString(o.Data)
				a.DataBase64 = &s
			}
		}
	}
	return a
}

// objectRequest is the body that creates an object or a new version of one.
type objectRequest struct {
	Name       string  `json:"name"`
	Data       *string `json:"data"`
	DataBase64 *string `json:"data_base64"`
}

// content decodes the request's data and validates it for the kind.
func (r objectRequest) content(kind swarm.Kind) ([]byte, string) {
	switch {
	case r.Data != nil && r.DataBase64 != nil:
		return nil, "Send either data or data_base64, not both."
	case r.DataBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*r.DataBase64)
		if err != nil {
			return nil, "data_base64 is not valid base64."
		}
		return b, swarm.ValidateContent(kind, b)
	case r.Data != nil:
		return []byte(*r.Data), swarm.ValidateContent(kind, []byte(*r.Data))
	}
	return nil, "Send the content as data (text) or data_base64."
}

// APIObjects lists configs or secrets.
func (h *Handlers) APIObjects(c echo.Context) error {
	list, err := h.engine.Objects(c.Request().Context(), kindOf(c))
	if err != nil {
		return err
	}
	out := make([]APIObject, 0, len(list))
	for _, o := range list {
		out = append(out, apiObject(o, false))
	}
	return c.JSON(http.StatusOK, out)
}

// APIObject returns one config with its content, or one secret without its value.
func (h *Handlers) APIObject(c echo.Context) error {
	o, err := h.engine.Object(c.Request().Context(), kindOf(c), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiObject(o, true))
}

// APICreateObject creates a config or secret.
func (h *Handlers) APICreateObject(c echo.Context) error {
	kind := kindOf(c)
	var req objectRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	data, msg := req.content(kind)
	var errs views.FieldErrors
	errs.Add("name", swarm.ValidateName(req.Name))
	errs.Add("data", msg)
	if errs.Any() {
		return fieldErrors(c, errs)
	}
	if err := h.createObject(c, kind, req.Name, data); errors.Is(err, swarm.ErrExists) {
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("A %s named %s exists; use POST .../%s/versions to change it.", kind, req.Name, req.Name))
	} else if err != nil {
		return err
	}
	o, err := h.engine.Object(c.Request().Context(), kind, req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, apiObject(o, false))
}

// APIDeleteObject deletes a config or secret; 409 names the services using it.
func (h *Handlers) APIDeleteObject(c echo.Context) error {
	kind := kindOf(c)
	_, err := h.removeObject(c, kind, c.Param("name"))
	return deleted(c, err)
}

// deleted answers an API removal: 204, or 409 naming the services that use the object.
func deleted(c echo.Context, err error) error {
	var inUse *swarm.InUseError
	switch {
	case errors.As(err, &inUse):
		return c.JSON(http.StatusConflict, map[string]any{"error": err.Error(), "services": inUse.Services})
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// APIRotation is the outcome of a new version.
type APIRotation struct {
	Old      string            `json:"old"`
	New      string            `json:"new"`
	Services []APIRotationStep `json:"services"`
	Error    string            `json:"error,omitempty"`
}

// APIRotationStep is one service's switch.
type APIRotationStep struct {
	Service string `json:"service"`
	State   string `json:"state"`
	Message string `json:"message,omitempty"`
}

// APIRotate creates the next version and waits for every service using the old one to roll out with it.
func (h *Handlers) APIRotate(c echo.Context) error {
	kind := kindOf(c)
	name := c.Param("name")
	var req objectRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Name != "" {
		return fieldErrors(c, views.FieldErrors{"name": "The new version's name is chosen by Berth; leave name out."})
	}
	data, msg := req.content(kind)
	if msg != "" {
		return fieldErrors(c, views.FieldErrors{"data": msg})
	}
	if _, err := h.engine.Object(c.Request().Context(), kind, name); err != nil {
		return err
	}
	if err := h.guardObject(c, string(kind)+".rotate", kind, name); err != nil {
		return err
	}
	j := h.startRotation(c, kind, name, data)
	select {
	case <-j.done:
	case <-c.Request().Context().Done():
		return c.Request().Context().Err()
	}
	r := j.rotationState()
	out := APIRotation{Old: r.Old, New: r.New, Services: []APIRotationStep{}, Error: r.Err}
	for _, s := range r.Steps {
		out.Services = append(out.Services, APIRotationStep{Service: s.Service, State: s.State, Message: s.Message})
	}
	if !r.Succeeded() {
		return c.JSON(http.StatusConflict, out)
	}
	return c.JSON(http.StatusOK, out)
}
