package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// EmailSettings are an SMTP server and who the alerts go to.
type EmailSettings struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Security string   `json:"security"` // starttls (default), tls (implicit), none
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	From     string   `json:"from"`
	To       []string `json:"to"`
}

// WebhookSettings are a URL receiving each alert as JSON.
type WebhookSettings struct {
	URL    string `json:"url"`
	Format string `json:"format"`           // json (default) or slack
	Secret string `json:"secret,omitempty"` // signs the body: X-Berth-Signature: sha256=<hex HMAC>
}

// SignatureHeader carries a webhook body's HMAC-SHA256 under the channel's secret.
const SignatureHeader = "X-Berth-Signature"

// Validate says what is wrong with the settings, by field.
func (s EmailSettings) Validate() map[string]string {
	errs := map[string]string{}
	if strings.TrimSpace(s.Host) == "" || strings.ContainsAny(s.Host, " /:") {
		errs["host"] = "Enter the mail server's host name, such as smtp.example.com."
	}
	if s.Port < 1 || s.Port > 65535 {
		errs["port"] = "Use a port from 1 to 65535 (587 for STARTTLS, 465 for TLS)."
	}
	switch s.Security {
	case "starttls", "tls", "none":
	default:
		errs["security"] = "Choose starttls, tls or none."
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		errs["from"] = "Enter the sender's address, such as berth@example.com."
	}
	if len(s.To) == 0 {
		errs["to"] = "Enter at least one recipient."
	}
	for _, to := range s.To {
		if _, err := mail.ParseAddress(to); err != nil {
			errs["to"] = fmt.Sprintf("%q is not an email address.", to)
		}
	}
	return errs
}

// Validate says what is wrong with the settings, by field.
func (s WebhookSettings) Validate() map[string]string {
	errs := map[string]string{}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs["url"] = "Enter an http:// or https:// URL."
	}
	switch s.Format {
	case "json", "slack":
	default:
		errs["format"] = "Choose json or slack."
	}
	return errs
}

// Message is one alert event as channels send it.
type Message struct {
	Event    string    `json:"event"` // open, repeat, resolved, test
	AlertID  int64     `json:"alert_id"`
	Kind     string    `json:"kind"`
	Object   string    `json:"object"`
	Title    string    `json:"title"`
	Detail   string    `json:"detail,omitempty"`
	OpenedAt time.Time `json:"opened_at"`
	Resolved time.Time `json:"resolved_at,omitzero"`
	Link     string    `json:"link,omitempty"`
}

// Subject is the message's one line.
func (m Message) Subject() string {
	switch m.Event {
	case "resolved":
		return "Resolved: " + m.Title
	case "repeat":
		return "Still open: " + m.Title
	case "test":
		return "Berth test message"
	}
	return "Alert: " + m.Title
}

func (m Message) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", m.Subject())
	if m.Detail != "" {
		fmt.Fprintf(&b, "%s\n\n", m.Detail)
	}
	fmt.Fprintf(&b, "What: %s\nOn: %s\nOpened: %s\n", Kinds[m.Kind], m.Object, m.OpenedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	if !m.Resolved.IsZero() {
		fmt.Fprintf(&b, "Resolved: %s\n", m.Resolved.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if m.Link != "" {
		fmt.Fprintf(&b, "\n%s\n", m.Link)
	}
	return b.String()
}

// SendEmail sends the message through the SMTP server and returns its answer.
func SendEmail(ctx context.Context, s EmailSettings, m Message) (string, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return "", fmt.Errorf("sender: %w", err)
	}
	if err := msg.To(s.To...); err != nil {
		return "", fmt.Errorf("recipients: %w", err)
	}
	msg.Subject(m.Subject())
	msg.SetBodyString(gomail.TypeTextPlain, m.text())
	opts := []gomail.Option{gomail.WithPort(s.Port), gomail.WithTimeout(15 * time.Second)}
	switch s.Security {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if s.Security == "none" {
			auth = gomail.SMTPAuthPlainNoEnc // the admin chose a server without encryption (one on this machine or network)
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	client, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return "", err
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return "", plainMailError(err, s)
	}
	return "accepted by " + net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), nil
}

// plainMailError is a delivery failure without anything the settings hold in secret.
func plainMailError(err error, s EmailSettings) error {
	msg := err.Error()
	if s.Password != "" {
		msg = strings.ReplaceAll(msg, s.Password, "[password]")
	}
	return fmt.Errorf("%s", msg)
}

// SendWebhook posts the message and returns the receiver's answer.
func SendWebhook(ctx context.Context, client *http.Client, s WebhookSettings, m Message) (string, error) {
	var body []byte
	if s.Format == "slack" {
		body, _ = json.Marshal(map[string]string{"text": m.text()})
	} else {
		body, _ = json.Marshal(m)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Berth-Alerts")
	if s.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(s.Secret, body))
	}
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 300))
	reply := strings.TrimSpace(fmt.Sprintf("%s %s", res.Status, answer))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return reply, fmt.Errorf("the receiver answered %s", reply)
	}
	return reply, nil
}

// Sign is the signature header's value for a body, for receivers to check.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
