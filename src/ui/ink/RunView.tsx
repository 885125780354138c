import { Box, Static, Text } from "ink"
import {
  firstLine,
  fitProgressLine,
  formatBytes,
  formatDuration,
  formatEta,
  formatNumber,
  formatPercent,
  formatRate,
  formatScalars,
  progressBar,
} from "../format.js"
import { countByStatus, isRunOver, type NodeView, type RunState, type SweepView, type VariantView } from "../run-state.js"

export interface RunViewProps {
  readonly state: RunState
  /** Running nodes shown in the live region; the rest are summarised in one line. */
  readonly maxRunning?: number
  readonly barWidth?: number
  /** The terminal's width: progress lines are laid out to fit it. */
  readonly columns?: number
}

type StaticItem =
  | { readonly key: string; readonly header: RunState }
  | { readonly key: string; readonly node: NodeView }
  | { readonly key: string; readonly backendOf: RunState }

export const RunView = ({ state, maxRunning = 4, barWidth = 24, columns = Infinity }: RunViewProps) => {
  if (state.sweep !== undefined)
    return <SweepLines state={state} sweep={state.sweep} maxRunning={maxRunning} barWidth={barWidth} columns={columns} />
  const byId = new Map(state.nodes.map((n) => [n.id, n]))
  const items: StaticItem[] = state.runId === undefined ? [] : [{ key: "header", header: state }]
  // Static output is append-only: the backend line goes where it happened, after the nodes settled by then.
  state.settledOrder.forEach((id, i) => {
    if (state.backendStarted?.afterSettled === i) items.push({ key: "backend", backendOf: state })
    const node = byId.get(id)
    if (node !== undefined) items.push({ key: `node:${id}`, node })
  })
  if (state.backendStarted !== undefined && state.backendStarted.afterSettled >= state.settledOrder.length)
    items.push({ key: "backend", backendOf: state })
  const running = state.nodes.filter((n) => n.status === "running")
  const over = isRunOver(state)
  return (
    <>
      <Static items={items}>
        {(item) =>
          "header" in item ? (
            <Header key={item.key} state={item.header} />
          ) : "backendOf" in item ? (
            <BackendLine key={item.key} state={item.backendOf} />
          ) : (
            <SettledLine key={item.key} node={item.node} />
          )
        }
      </Static>
      <Box flexDirection="column">
        {running
          .slice(0, maxRunning)
          .map((node) =>
            over ? (
              <InterruptedLine key={node.id} node={node} />
            ) : (
              <RunningNode key={node.id} node={node} now={state.lastEventAt} barWidth={barWidth} columns={columns} />
            ),
          )}
        {running.length > maxRunning && <Text dimColor> … and {running.length - maxRunning} more running</Text>}
        {over ? <Summary state={state} /> : state.runId !== undefined && <CountsLine state={state} />}
      </Box>
    </>
  )
}

const Header = ({ state }: { state: RunState }) => {
  const b = state.backend
  const threads = b?.threads !== undefined && !b.device.includes("thread") ? `, ${b.threads} threads` : ""
  return (
    <Text>
      <Text bold>{state.pipeline?.name ?? "pipeline"}</Text>
      <Text dimColor> run {state.runId}</Text>
      {b !== undefined && (
        <Text dimColor>
          {" "}
          · backend {b.name} {b.version} ({b.device}
          {threads})
        </Text>
      )}
    </Text>
  )
}

const BackendLine = ({ state }: { state: RunState }) => {
  const started = state.backendStarted!
  const b = started.backend
  return (
    <Text dimColor>
      backend {b.name} started: {b.device} in {formatDuration(started.initMs)}
      {started.replanned ? " (not the expected one: planned again)" : ""}
      {b.reason ? `: ${b.reason}` : ""}
    </Text>
  )
}

const Label = ({ node }: { node: NodeView }) => (
  <>
    <Text bold>{node.id}</Text>
    <Text dimColor> ({node.kind})</Text>
  </>
)

/** A node that leaves tensors behind in the engine's memory may leak; one that frees more is fine. */
const memoryNote = ({ tensors, bytes }: { tensors: number; bytes: number }): string =>
  tensors > 0
    ? `tensor memory grew by ${tensors} tensors (${formatBytes(bytes)}) while it ran: a leak?`
    : `tensor memory shrank by ${-tensors} tensors (${formatBytes(-bytes)}) while it ran`

const SettledLine = ({ node }: { node: NodeView }) => {
  switch (node.status) {
    case "done":
      return (
        <Text>
          <Text color="green">✓ </Text>
          <Label node={node} /> ran in {formatDuration(node.durationMs ?? 0)}
          {node.memory !== undefined && node.memory.tensors !== 0 && <Text color="yellow"> · {memoryNote(node.memory)}</Text>}
        </Text>
      )
    case "cached":
      return (
        <Text>
          <Text color="cyan">⚡ </Text>
          <Label node={node} /> cached
        </Text>
      )
    case "failed":
      return (
        <Text>
          <Text color="red">✗ </Text>
          <Label node={node} />
          <Text color="red"> failed: {node.error ?? "unknown error"}</Text>
        </Text>
      )
    case "skipped":
      return (
        <Text dimColor>
          ⊘ {node.id} ({node.kind}) skipped: {node.skipReason ?? ""}
        </Text>
      )
    default:
      return null
  }
}

const RunningNode = ({ node, now, barWidth, columns }: { node: NodeView; now?: number; barWidth: number; columns: number }) => {
  const p = node.progress
  const elapsed = node.startedAt !== undefined && now !== undefined ? formatDuration(now - node.startedAt) : ""
  const unit = p?.unit !== undefined ? ` ${p.unit}` : ""
  const stats: string[] = []
  if (p !== undefined) {
    stats.push(
      p.total !== undefined
        ? `${formatNumber(p.done)}/${formatNumber(p.total)}${unit} ${formatPercent(p.done, p.total)}`
        : `${formatNumber(p.done)}${unit}`,
    )
    if (node.rate !== undefined) stats.push(formatRate(node.rate, p.unit))
    if (node.etaSeconds !== undefined) stats.push(`ETA ${formatEta(node.etaSeconds)}`)
  }
  if (elapsed !== "") stats.push(elapsed)
  const label = `▸ ${node.id} (${node.kind}) `
  const fit = fitProgressLine(label.length, stats, columns, p?.total !== undefined ? barWidth : 0)
  const scalars = formatScalars(p?.scalars)
  const message = p?.message ?? node.logs.findLast((l) => l.level !== "debug")?.message
  const detail = [scalars, message !== undefined ? firstLine(message) : ""].filter((s) => s !== "").join(" · ")
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text color="yellow">▸ </Text>
        <Label node={node} /> {p?.total !== undefined && fit.bar > 0 && <Text color="cyan">{progressBar(p.done / p.total, fit.bar)} </Text>}
        {fit.stats.join(" · ")}
      </Text>
      {detail !== "" && (
        <Text dimColor wrap="truncate-end">
          {"    "}
          {detail}
        </Text>
      )}
    </Box>
  )
}

const InterruptedLine = ({ node }: { node: NodeView }) => (
  <Text>
    <Text color="red">⊘ </Text>
    <Label node={node} /> interrupted
  </Text>
)

const CountsLine = ({ state }: { state: RunState }) => {
  const c = countByStatus(state)
  return (
    <Text dimColor>
      {c.pending} pending · {c.running} running · {c.done} done · {c.cached} cached
      {c.failed > 0 ? ` · ${c.failed} failed` : ""}
      {c.skipped > 0 ? ` · ${c.skipped} skipped` : ""}
    </Text>
  )
}

const Summary = ({ state }: { state: RunState }) => {
  const c = state.counts
  const marker = state.status === "succeeded" ? "✓" : "✗"
  const color = state.status === "succeeded" ? "green" : "red"
  return (
    <Text>
      <Text color={color} bold>
        {marker} {state.status}
      </Text>
      {c !== undefined && `: ${c.ran} ran, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped`}
      {state.durationMs !== undefined && ` in ${formatDuration(state.durationMs)}`}
      {state.outputs !== undefined && <Text dimColor> · outputs: {state.outputs}</Text>}
    </Text>
  )
}

/** A sweep: a line per finished variant above; the running variant with its running nodes below. */
const SweepLines = ({ state, sweep, maxRunning, barWidth, columns }: Required<RunViewProps> & { sweep: SweepView }) => {
  const finished = sweep.variants.filter((v) => v.status !== "running")
  const current = sweep.variants.find((v) => v.status === "running")
  const running = state.nodes.filter((n) => n.status === "running")
  return (
    <>
      <Static items={finished.map((variant) => ({ key: `variant:${variant.index}`, variant }))}>
        {(item) => <VariantLine key={item.key} sweep={sweep} variant={item.variant} />}
      </Static>
      <Box flexDirection="column">
        {current !== undefined && <VariantLine sweep={sweep} variant={current} />}
        {current !== undefined &&
          running
            .slice(0, maxRunning)
            .map((node) => <RunningNode key={node.id} node={node} now={state.lastEventAt} barWidth={barWidth} columns={columns} />)}
        <Text dimColor>
          sweep {sweep.id}: {finished.length} of {sweep.count} variants finished
          {finished.some((v) => v.status !== "succeeded")
            ? `, ${finished.filter((v) => v.status !== "succeeded").length} not succeeded`
            : ""}
        </Text>
      </Box>
    </>
  )
}

const VariantLine = ({ sweep, variant: v }: { sweep: SweepView; variant: VariantView }) => {
  const values = Object.entries(v.params).map(([path, value]) => `${path}=${value}`)
  const marker = v.status === "running" ? ["▸ ", "yellow"] : v.status === "succeeded" ? ["✓ ", "green"] : ["✗ ", "red"]
  return (
    <Text wrap="truncate-end">
      <Text color={marker[1]}>{marker[0]}</Text>
      <Text bold>
        variant {v.index + 1}/{sweep.count}
      </Text>{" "}
      {values.join(" ")}
      <Text dimColor>
        {v.status === "running"
          ? ` · ${v.settled}/${v.nodes} nodes · run ${v.runId}`
          : ` · ${v.status} in ${formatDuration(v.durationMs ?? 0)} · run ${v.runId}`}
      </Text>
    </Text>
  )
}
