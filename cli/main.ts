#!/usr/bin/env node
/**
 * The `amikit` command: `amikit <listen|action|simulate|demo|gateway> [options]`,
 * `amikit --help`, `amikit --version`.
 * Runs on Deno (`deno run -A cli/main.ts`), Bun (`bun cli/main.ts`) and Node
 * (`node npm/esm/cli/main.js`, the package's `bin`).
 *
 * Exit codes: 0 success, 1 failure (action failed, login refused, cannot
 * connect), 2 usage error.
 *
 * @module
 */

import { HELP, parseCommandLine, UsageError } from "./_args.ts";
import { EXIT, stderrLine } from "./_process.ts";
import { Redactor } from "./redact.ts";

/**
 * Runs the command line.
 *
 * @param argv the arguments after the script
 * @returns the exit code (subcommands that run until a signal exit themselves)
 */
export async function main(argv: readonly string[]): Promise<number> {
  const redactor = new Redactor();
  try {
    const cmd = parseCommandLine(argv);
    switch (cmd.command) {
      case "help":
        process.stdout.write(HELP[cmd.topic ?? "main"] + "\n");
        return EXIT.ok;
      case "usage":
        // No command: the usage, as an error (a script missing its command should notice).
        process.stderr.write(HELP.main + "\n");
        return EXIT.usage;
      case "version": {
        const { packageVersion } = await import("./_version.ts");
        process.stdout.write(`amikit ${packageVersion()}\n`);
        return EXIT.ok;
      }
      case "listen": {
        const { runListen } = await import("./listen.ts");
        return await runListen(cmd, redactor);
      }
      case "action": {
        const { runAction } = await import("./action.ts");
        return await runAction(cmd, redactor);
      }
      case "simulate": {
        const { runSimulate } = await import("./simulate.ts");
        return await runSimulate(cmd, redactor);
      }
      case "demo": {
        const { runDemo } = await import("./demo.ts");
        return await runDemo(cmd, redactor);
      }
      case "gateway": {
        const { runGateway } = await import("./gateway.ts");
        return await runGateway(cmd, redactor);
      }
      default:
        return EXIT.usage;
    }
  } catch (error) {
    if (error instanceof UsageError) {
      stderrLine(`amikit: ${redactor.text(error.message)}`);
      stderrLine(
        `Run "amikit ${error.subcommand ?? ""}${error.subcommand ? " " : ""}--help" for usage.`,
      );
      return EXIT.usage;
    }
    stderrLine(`amikit: ${redactor.errorText(error)}`);
    return EXIT.failed;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Subcommands that ran to completion may leave sockets or timers behind
// (closed but not yet released); the exit code is what matters.
setTimeout(() => process.exit(code), 50);
