// Package config builds kcc's one immutable configuration at start-up from
// three layers, each overriding the one before: the compiled-in defaults
// (defaults.yaml, embedded), the YAML file given with --config, and KCC_*
// environment variables (KCC_<SECTION>_<KEY>, e.g. KCC_SIP_LISTEN).
//
// Unknown keys in the file and unknown KCC_* variables are refused with a
// message naming them (and, for the file, the line), so a typo never silently
// falls back to a default. viper is used only inside Load: after Load returns
// nothing looks anything up again; the returned Config is a plain value.
//
// Only cmd/kcc imports this package. Leaf packages never see Config: the
// composition root hands each one the settings it owns.
package config
