package views

// AlertsView is the Alerts page: open and past alerts, and for admins the channels.
type AlertsView struct {
	Rows     []AlertRow
	State    string // the filter: "", open, resolved
	Kind     string
	Kinds    []string
	CanAck   bool
	Admin    bool
	Channels []ChannelRow
	Form     ChannelForm
	Notice   string
	Settings AlertSettingsForm
	Query    string // the filter as a query string, for the CSV link
}

// AlertRow is one alert with what was sent for it.
type AlertRow struct {
	ID                  int64
	Title, What, Object string
	State               string
	Opened, Resolved    string
	AckedBy             string
	Deliveries          []string // "On-call (email): open sent; resolved failed after 5 tries: ..."
}

// ChannelRow is one channel as the page lists it (never its password or secret).
type ChannelRow struct {
	ID                int64
	Name, Kind, Where string
	Answer, Error     string // the last "Send a test"'s outcome
}

// ChannelForm is the new channel form with its errors.
type ChannelForm struct {
	Kind, Name, Host, Port, Security, Username, From, To, URL, Format string
	Errors                                                            FieldErrors
}

// AlertSettingsForm is the thresholds an admin sets, and which kinds of alert are on.
type AlertSettingsForm struct {
	DegradedMinutes, RestartFailures, CertDays, DiskPercent, RepeatHours string
	MemoryPercent, MemoryMinutes                                         string
	Kinds                                                                []KindSwitch
	Errors                                                               FieldErrors
}

// KindSwitch is one kind of alert and whether it is on.
type KindSwitch struct {
	Kind, Words string
	On          bool
}
