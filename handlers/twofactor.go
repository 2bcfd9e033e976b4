package handlers

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"image/png"
	"net/http"
	"sync"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/store/totp"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
	"rsc.io/qr"
)

// totpIssuer is the name authenticator apps show for Berth's codes.
const totpIssuer = "Berth"

// Enrol2FAPage starts (or continues) enrolment and shows the QR code and key.
func (h *Handlers) Enrol2FAPage(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	if u.TOTPEnabled {
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	secret, err := h.store.PendingTOTP(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		secret, err = h.store.BeginTOTP(ctx, u.ID)
	}
	if err != nil {
		return err
	}
	return h.renderEnrol(c, http.StatusOK, secret, nil)
}

func (h *Handlers) renderEnrol(c echo.Context, status int, secret []byte, errs views.FieldErrors) error {
	required, err := h.store.Require2FA(c.Request().Context())
	if err != nil {
		return err
	}
	p := h.page(c, "Two-factor authentication", "account")
	return h.render(c, status, p, views.Enrol2FAPage(p, views.Enrol2FA{Secret: totp.Encode(secret), Required: required, Errors: errs}))
}

// Enrol2FAQR is the enrolment QR code as a PNG (an image URL, since the page policy forbids data: images).
func (h *Handlers) Enrol2FAQR(c echo.Context) error {
	u := currentUser(c)
	secret, err := h.store.PendingTOTP(c.Request().Context(), u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "No enrolment in progress.")
	}
	if err != nil {
		return err
	}
	image, err := h.qrCodes.png(totp.URI(totpIssuer, u.Username, secret))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", image)
}

// qrCache keeps the QR images of enrolments in progress, keyed by a hash of what they
// encode, so a reloaded page (or many) does not draw the same image again.
type qrCache struct {
	mu     sync.Mutex
	images map[[32]byte][]byte
}

// qrCacheMost bounds how many enrolments' images are kept.
const qrCacheMost = 64

// forget drops every kept image.
func (q *qrCache) forget() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.images = nil
}

// png returns the QR code of text as a PNG image.
func (q *qrCache) png(text string) ([]byte, error) {
	key := sha256.Sum256([]byte(text))
	q.mu.Lock()
	image, ok := q.images[key]
	q.mu.Unlock()
	if ok {
		return image, nil
	}
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, err
	}
	code.Scale = 6
	var buf bytes.Buffer
	if err := png.Encode(&buf, code.Image()); err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.images == nil || len(q.images) >= qrCacheMost {
		q.images = map[[32]byte][]byte{}
	}
	q.images[key] = buf.Bytes()
	return buf.Bytes(), nil
}

// Confirm2FA turns two-factor on once the first code checks out, and shows the recovery codes once.
func (h *Handlers) Confirm2FA(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	codes, err := h.store.ConfirmTOTP(ctx, u.ID, c.FormValue("code"))
	if errors.Is(err, store.ErrNotFound) {
		return c.Redirect(http.StatusSeeOther, "/account/2fa")
	}
	if errors.Is(err, store.ErrBadCode) {
		secret, err := h.store.PendingTOTP(ctx, u.ID)
		if err != nil {
			return err
		}
		return h.renderEnrol(c, http.StatusUnprocessableEntity, secret, views.FieldErrors{"code": "That code does not match. Check the time on your phone and enter the code now shown."})
	}
	if err != nil {
		return err
	}
	u.TOTPEnabled = true
	h.qrCodes.forget() // the enrolled secret's image is not kept once it has served
	h.audit(c, "user.2fa_enable", "user:"+u.Username, "ok", "")
	p := h.page(c, "Two-factor authentication", "account")
	return h.render(c, http.StatusOK, p, views.RecoveryCodesPage(p, codes))
}

// Disable2FA turns two-factor off, unless an admin requires it.
func (h *Handlers) Disable2FA(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	if ok, err := h.askFirst(c, "Turn two-factor authentication off?", "/account"); !ok {
		return err
	}
	required, err := h.store.Require2FA(ctx)
	if err != nil {
		return err
	}
	if required {
		return echo.NewHTTPError(http.StatusForbidden, "Two-factor authentication is required for everyone here; it cannot be turned off.")
	}
	if err := h.store.DisableTOTP(ctx, u.ID); err != nil {
		return err
	}
	h.audit(c, "user.2fa_disable", "user:"+u.Username, "ok", "")
	return h.redirectNotice(c, "/account", "Two-factor authentication is off.")
}
