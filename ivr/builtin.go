package ivr

import (
	_ "embed"
	"slices"
)

//go:embed flows/14070.yaml
var builtin14070 []byte

// Builtin returns the source of the built-in 14070 flow (Dutch and English),
// which kcc runs when its configuration names no flow. It needs the prompts
// welkom, kies-taal, hoofdmenu, ongeldige-keuze, zie-website and tot-ziens
// and the queues paspoort, afval, belastingen and algemeen.
func Builtin() []byte { return slices.Clone(builtin14070) }
