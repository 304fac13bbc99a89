/**
 * Readies the process for an Ink UI, before Ink or React is first loaded (both read the
 * environment once, at load):
 * - React's production build: it picks its build from NODE_ENV at first load;
 * - live frames on a terminal even where CI=true is set: Ink then prints only the last frame,
 *   right for a log file, wrong for a terminal (or a tmux pane) that someone is watching.
 */
export function prepareTerminalUi(output: NodeJS.WriteStream): void {
  process.env.NODE_ENV = "production";
  if (output.isTTY) {
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
  }
}
