package ivr

import (
	_ "embed"
	"slices"
)

//go:embed flows/14070.yaml
var builtin14070 []byte

// Builtin returns the source of the built-in 14070 flow (Dutch and English),
// which kcc runs when its configuration names no flow. It needs the prompts
// welkom, kies-taal, hoofdmenu, ongeldige-keuze, zie-website, tot-ziens and
// gesloten and the queues paspoort, afval, belastingen and algemeen. It plays
// the incident slot "storing" first, then checks the opening hours (Monday
// to Friday 08:00-20:00 in Europe/Amsterdam, closed on public holidays), so
// a run needs an Env with a clock that is within them to reach the welcome.
func Builtin() []byte { return slices.Clone(builtin14070) }
