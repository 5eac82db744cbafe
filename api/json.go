package api

import (
	"time"

	"kcc/flows"
)

// VersionJSON is a flow version as the API shows it.
type VersionJSON struct {
	ID     string    `json:"id"`
	Flow   string    `json:"flow"`
	File   string    `json:"file"`
	Loaded time.Time `json:"loaded"`
}

// FlowJSON is one flow's state as the API shows it.
type FlowJSON struct {
	Flow     string        `json:"flow"`
	Current  string        `json:"current"`
	Pinned   bool          `json:"pinned"`
	Versions []VersionJSON `json:"versions"`
}

func versionJSON(v flows.Version) VersionJSON {
	return VersionJSON{ID: v.ID, Flow: v.Flow, File: v.File, Loaded: v.Loaded}
}

func versionsJSON(vs []flows.Version) []VersionJSON {
	out := make([]VersionJSON, 0, len(vs))
	for _, v := range vs {
		out = append(out, versionJSON(v))
	}
	return out
}

func flowStatusJSON(st []flows.Status) []FlowJSON {
	out := make([]FlowJSON, 0, len(st))
	for _, s := range st {
		out = append(out, FlowJSON{Flow: s.Flow, Current: s.Current, Pinned: s.Pinned, Versions: versionsJSON(s.Versions)})
	}
	return out
}
