package authframe

import "github.com/authframe/authframe/core/internal/engine"

// internals is what engine.Of hands to authframe's subpackages: its exported methods are
// reached through interfaces those packages declare, and appear in no public API.
type internals struct{ g *Guard }

func init() {
	engine.Of = func(guard any) any {
		g, ok := guard.(*Guard)
		if !ok || g == nil {
			panic("authframe: a nil Guard or something else than *authframe.Guard")
		}
		return internals{g}
	}
	engine.Option = func(apply func(cfg any)) any {
		return optionFunc(func(c *config) { apply(c) })
	}
}
