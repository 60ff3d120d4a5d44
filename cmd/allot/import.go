package main

import "github.com/spf13/cobra"

// importCmd and exportCmd group the bulk data commands: allot import
// tenant|usage|signins and allot export tenant.
var (
	importCmd = &cobra.Command{Use: "import", Short: "Bring data into allot (tenant bundles, usage reports, sign-ins)"}
	exportCmd = &cobra.Command{Use: "export", Short: "Write data out of allot (tenant bundles)"}
)

func init() {
	rootCmd.AddCommand(importCmd, exportCmd)
}
