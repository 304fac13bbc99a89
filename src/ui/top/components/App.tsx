import { useApp, useInput, useStdout } from "ink";
import { useEffect, useState, useSyncExternalStore } from "react";
import type { NodeAction, NodeControls } from "../controls.js";
import type { TopStore } from "../store.js";
import { Dashboard, type Footer } from "./Dashboard.js";

const HINT: Footer = { text: "q quit  ↑↓ select  k kill  r restart  p pause/resume  ? help", tone: "hint" };
const VERBS: Record<NodeAction, string> = { kill: "Kill", restart: "Restart", pause: "Pause/resume" };

interface Props {
  readonly store: TopStore;
  readonly controls: NodeControls;
  /** Keyboard input only on a TTY: Ink's raw mode fails without one. */
  readonly interactive: boolean;
}

function useTerminalSize(): { width: number; height: number } {
  const { stdout } = useStdout();
  const read = () => ({ width: stdout.columns || 80, height: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  });
  return size;
}

export function App({ store, controls, interactive }: Props) {
  const state = useSyncExternalStore(store.subscribe, store.getState);
  const { width, height } = useTerminalSize();
  const [selected, setSelected] = useState(0);
  const [showHelp, setShowHelp] = useState(false);
  const [confirm, setConfirm] = useState<NodeAction | undefined>();
  const [footer, setFooter] = useState<Footer>(HINT);
  return (
    <>
      {interactive ? (
        <Keys
          onSelect={(delta) => setSelected((s) => Math.min(state.nodes.length - 1, Math.max(0, s + delta)))}
          onHelp={() => setShowHelp((h) => !h)}
          confirming={confirm !== undefined}
          onAction={(action) => {
            const node = state.nodes[selected];
            if (!node) return;
            const why = controls.unavailable(action, node);
            if (why) {
              setFooter({ text: why, tone: "error" });
              return;
            }
            setConfirm(action);
            setFooter({ text: `${VERBS[action]} node ${node.id} (${node.address})? y/n`, tone: "ask" });
          }}
          onAnswer={(yes) => {
            const node = state.nodes[selected];
            const action = confirm;
            setConfirm(undefined);
            if (!yes || !node || !action) {
              setFooter(HINT);
              return;
            }
            setFooter({ text: `${VERBS[action]} node ${node.id}…`, tone: "ask" });
            controls.run(action, node).then(
              (text) => setFooter({ text, tone: "done" }),
              (error: unknown) =>
                setFooter({ text: error instanceof Error ? error.message : String(error), tone: "error" }),
            );
          }}
        />
      ) : null}
      <Dashboard
        state={state}
        now={Date.now()}
        width={width}
        height={height}
        selected={selected}
        showHelp={showHelp}
        footer={interactive ? footer : { text: "read-only: stdin is not a terminal", tone: "hint" }}
      />
    </>
  );
}

function Keys(props: {
  confirming: boolean;
  onSelect(delta: number): void;
  onHelp(): void;
  onAction(action: NodeAction): void;
  onAnswer(yes: boolean): void;
}) {
  const { exit } = useApp();
  useInput((input, key) => {
    if (props.confirming) {
      if (input === "y" || input === "Y") props.onAnswer(true);
      else if (input === "n" || input === "N" || key.escape) props.onAnswer(false);
      return;
    }
    if (input === "q" || (key.ctrl && input === "c")) exit();
    else if (key.upArrow) props.onSelect(-1);
    else if (key.downArrow) props.onSelect(1);
    else if (input === "?") props.onHelp();
    else if (input === "k") props.onAction("kill");
    else if (input === "r") props.onAction("restart");
    else if (input === "p") props.onAction("pause");
  });
  return null;
}
