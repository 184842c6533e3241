package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/authframe/authframe/core/keys"
)

func newKeygenCmd(a *app) *cobra.Command {
	var alg, out string
	c := &cobra.Command{
		Use:   "keygen [--alg EdDSA|ES256|ES384|RS256] [--out FILE]",
		Short: "Write a fresh private signing key in PKCS#8 PEM",
		Long: `Write a fresh private signing key in PKCS#8 PEM to stdout or, with --out, to a new
file only its owner can read (mode 0600; an existing file is not replaced).`,
		Args: noArgs,
		RunE: a.run(func(*cobra.Command, []string) error {
			pem, err := keys.GeneratePEM(alg)
			if err != nil {
				return usageErr("keygen: %w", err)
			}
			if out == "" {
				_, err = a.out.Write(pem)
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			if _, err := f.Write(pem); err != nil {
				f.Close()
				return fmt.Errorf("keygen: %w", err)
			}
			return f.Close()
		}),
	}
	c.Flags().StringVar(&alg, "alg", "EdDSA", "EdDSA (Ed25519), ES256, ES384 or RS256")
	c.Flags().StringVar(&out, "out", "", "write to this file (mode 0600; an existing file is not replaced) instead of stdout")
	return c
}
