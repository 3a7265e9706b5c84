'use client';
/**
 * The node editor: palette | canvas | inspector/model/train tabs, with the presets gallery
 * as the obvious first step. Graph state lives in the zustand store (store.ts); everything
 * derived (issues, shapes, costs, compile status) in analysisStore.ts.
 */
import {
  Background,
  Controls,
  Panel,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Edge,
  type FinalConnectionState,
  type IsValidConnection,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { connectionError, nodeTypeDef } from '@/engine/design/grammar';
import type { AdapterDescription } from '@/engine/gpu/describe';
import { WebGpuStatus } from '@/components/shell/WebGpuStatus';
import { nodeTypes } from './nodes';
import { edgeTypes } from './TypedEdge';
import { Palette, DRAG_MIME, type PaletteItem } from './Palette';
import { Inspector } from './Inspector';
import { ModelPanel } from './ModelPanel';
import { PresetsGallery } from './PresetsGallery';
import { ShortcutsHelp, isTypingTarget } from './ShortcutsHelp';
import { Toolbar } from './Toolbar';
import { CanvasMiniMap } from './CanvasMiniMap';
import { TrainTab } from './TrainTab';
import { useEditor, undo, redo, type EditorNode } from './store';
import { autoConnectEdges, duplicate, makeNode, withDefaultAxes } from './factory';
import { layoutGraph } from './autoLayout';
import { useAnalysisDriver } from './useAnalysisDriver';
import { loadAutosave, useAutosave } from './persistence';
import { Toasts, toast } from './Toasts';
import { loadDesignFromServer } from './serverDesigns';

type Tab = 'inspect' | 'model' | 'train';

const MINIMAP_COLORS: Record<string, string> = { stack: 'transparent', miras: '#6aa9ff', memory: '#5aa9e6', bias: '#c37be0', retention: '#e0a34e', learner: '#52c49b', attention: '#d9786b', mlp: '#6fa86a' };
const minimapColor = (type: string | undefined) => MINIMAP_COLORS[type ?? ''] ?? '#4f5b6d';

function graphView() {
  const s = useEditor.getState();
  return { nodes: s.nodes.map((n) => ({ id: n.id, type: n.type ?? '' })), edges: s.edges };
}

/** Shows, next to the pointer, why the connection being dragged would be refused. */
function ConnectionHint({ reason }: { reason: { text: string; x: number; y: number } | null }) {
  if (!reason) return null;
  return (
    <div className="connection-hint" role="tooltip" data-testid="connection-hint" style={{ left: reason.x + 14, top: reason.y + 14 }}>
      {reason.text}
    </div>
  );
}

function Canvas() {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const onNodesChange = useEditor((s) => s.onNodesChange);
  const onEdgesChange = useEditor((s) => s.onEdgesChange);
  const onConnect = useEditor((s) => s.onConnect);
  const { screenToFlowPosition, fitView, getInternalNode, setViewport, setCenter, getZoom } = useReactFlow();
  const [hint, setHint] = useState<{ text: string; x: number; y: number } | null>(null);
  const pointer = useRef({ x: 0, y: 0 });
  const connecting = useRef(false);

  const isValidConnection: IsValidConnection = useCallback((c) => connectionError(graphView(), c, { replace: true }) === null, []);

  const onConnectEnd = useCallback((_e: MouseEvent | TouchEvent, state: FinalConnectionState) => {
    connecting.current = false;
    setHint(null);
    if (state.toHandle && state.fromHandle && state.isValid === false) {
      const src = state.fromHandle.type === 'source' ? state.fromHandle : state.toHandle;
      const dst = state.fromHandle.type === 'source' ? state.toHandle : state.fromHandle;
      const why = connectionError(graphView(), { source: src.nodeId, sourceHandle: src.id, target: dst.nodeId, targetHandle: dst.id }, { replace: true });
      if (why) toast(`Connection refused: ${why}`, 'error', 'connection-refused');
    }
  }, []);

  // While a connection is dragged, explain why the handle under the pointer refuses it. Only then:
  // a node drag's pointer moves do no DOM queries here.
  const onConnectStart = useCallback(() => {
    connecting.current = true;
  }, []);
  useEffect(() => {
    const clear = () => setHint((h) => (h ? null : h));
    const move = (e: PointerEvent) => {
      pointer.current = { x: e.clientX, y: e.clientY };
      if (!connecting.current) return;
      const el = document.elementFromPoint(e.clientX, e.clientY)?.closest('.react-flow__handle') as HTMLElement | null;
      const from = document.querySelector('.react-flow__handle.connectingfrom') as HTMLElement | null;
      if (!el || !from || el === from) return clear();
      const src = { node: from.dataset.nodeid!, handle: from.dataset.handleid ?? null };
      const dst = { node: el.dataset.nodeid!, handle: el.dataset.handleid ?? null };
      const why = el.classList.contains('target')
        ? connectionError(graphView(), { source: src.node, sourceHandle: src.handle, target: dst.node, targetHandle: dst.handle }, { replace: true })
        : 'Connect an output (bottom or right) to an input (top or left).';
      setHint(why ? { text: why, x: e.clientX, y: e.clientY } : null);
    };
    window.addEventListener('pointermove', move);
    return () => window.removeEventListener('pointermove', move);
  }, []);

  const addAt = useCallback(
    (type: string, kind: string | undefined, flowPos: { x: number; y: number }, below = false) => {
      let parentId: string | undefined;
      let position = flowPos;
      const state = useEditor.getState();
      const selected = state.nodes.filter((n) => n.selected);
      if (below && selected.length === 1 && selected[0].type !== 'stack') {
        // Added from the palette with one node selected: it goes right under that node, in its group.
        const prev = selected[0];
        const h = prev.measured?.height ?? prev.height ?? 60;
        position = { x: prev.position.x, y: prev.position.y + h + 40 };
        parentId = prev.parentId;
      } else if (type !== 'stack') {
        // Dropped inside a stack: it becomes part of the repeated layers.
        const stack = state.nodes
          .filter((n) => n.type === 'stack')
          .reverse()
          .find((n) => {
            const abs = getInternalNode(n.id)?.internals.positionAbsolute ?? n.position;
            const w = n.measured?.width ?? n.width ?? 0;
            const h = n.measured?.height ?? n.height ?? 0;
            return flowPos.x >= abs.x && flowPos.x <= abs.x + w && flowPos.y >= abs.y && flowPos.y <= abs.y + h;
          });
        if (stack) {
          const abs = getInternalNode(stack.id)?.internals.positionAbsolute ?? stack.position;
          parentId = stack.id;
          position = { x: flowPos.x - abs.x, y: flowPos.y - abs.y };
        }
      }
      const node = makeNode(type, kind, position, parentId);
      // Block by block: a stream node attaches after the selected one (one undo step with the add),
      // when added from the keyboard or dropped under that node.
      const droppedUnder = () => {
        if (selected.length !== 1) return false;
        const abs = getInternalNode(selected[0].id)?.internals.positionAbsolute ?? selected[0].position;
        const w = selected[0].measured?.width ?? 210;
        const h = selected[0].measured?.height ?? 60;
        return flowPos.y > abs.y + h && Math.abs(flowPos.x - (abs.x + w / 2)) < w;
      };
      const auto = below || droppedUnder() ? autoConnectEdges(state.nodes, state.edges, node) : [];
      if (type === 'miras') {
        // A Miras block arrives with the first catalog choice on each axis, plugged in and ready to swap.
        const { nodes, edges } = withDefaultAxes(node);
        state.addNodes([node, ...nodes], [...edges, ...auto]);
      } else state.addNodes([node], auto);
      if (auto.length) {
        const from = state.nodes.find((n) => n.id === auto[0].source);
        toast(`Connected after ${nodeTypeDef(from?.type ?? '')?.title ?? 'the selected node'}${auto.length > 1 ? ' (and its residual skip)' : ''}. Ctrl+Z undoes it.`, 'info', 'auto-connected', 4000);
      }
      return node;
    },
    [getInternalNode],
  );

  const onDrop = useCallback(
    (e: DragEvent) => {
      e.preventDefault();
      const raw = e.dataTransfer.getData(DRAG_MIME);
      if (!raw) return;
      const { type, kind } = JSON.parse(raw) as { type: string; kind?: string };
      addAt(type, kind, screenToFlowPosition({ x: e.clientX, y: e.clientY }));
    },
    [addAt, screenToFlowPosition],
  );

  useEffect(() => {
    const onAdd = (e: Event) => {
      const item = (e as CustomEvent<PaletteItem>).detail;
      const rect = document.querySelector('.react-flow')!.getBoundingClientRect();
      const node = addAt(item.type, item.kind, screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }), true);
      // Keep the new block in view (it may land under the bottom edge), at the current zoom.
      requestAnimationFrame(() => {
        const n = getInternalNode(node.id);
        if (!n) return;
        const p = n.internals.positionAbsolute;
        const w = n.measured.width ?? 210;
        const h = n.measured.height ?? 60;
        const tl = screenToFlowPosition({ x: rect.left, y: rect.top });
        const br = screenToFlowPosition({ x: rect.right, y: rect.bottom });
        if (p.x < tl.x || p.y < tl.y || p.x + w > br.x || p.y + h > br.y) void setCenter(p.x + w / 2, p.y + h / 2, { zoom: getZoom(), duration: 150 });
      });
    };
    const onFit = () => {
      if (useEditor.getState().nodes.length === 0) void setViewport({ x: 40, y: 40, zoom: 1 });
      else void fitView({ padding: 0.08, maxZoom: 1 });
    };
    const onFocus = (e: Event) => fitView({ nodes: [{ id: (e as CustomEvent<string>).detail }], maxZoom: 1.2, duration: 200 });
    window.addEventListener('miras:add-node', onAdd);
    window.addEventListener('miras:fit-view', onFit);
    window.addEventListener('miras:focus-node', onFocus);
    return () => {
      window.removeEventListener('miras:add-node', onAdd);
      window.removeEventListener('miras:fit-view', onFit);
      window.removeEventListener('miras:focus-node', onFocus);
    };
  }, [addAt, screenToFlowPosition, fitView, setViewport, setCenter, getZoom, getInternalNode]);

  return (
    <>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectStart={onConnectStart}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onDrop={onDrop}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'move';
        }}
        deleteKeyCode={['Delete', 'Backspace']}
        multiSelectionKeyCode={['Control', 'Meta', 'Shift']}
        selectionKeyCode="Shift"
        onNodeClick={() => window.dispatchEvent(new Event('miras:inspect'))}
        minZoom={0.1}
        maxZoom={2}
        onlyRenderVisibleElements
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={20} size={1} />
        <CanvasMiniMap colorOf={minimapColor} />
        <Controls showInteractive={false} />
        <Panel position="bottom-center" className="canvas-hint">
          {nodes.length === 0 ? 'Empty canvas: press P for a preset, or add blocks from the palette: Enter on a block adds it under the selected one, connected.' : null}
        </Panel>
      </ReactFlow>
      <ConnectionHint reason={hint} />
    </>
  );
}

/** Keyboard shortcuts (listed under "?"). */
function useShortcuts(actions: { openPresets(): void; toggleHelp(): void; layout(): void; exportFile(): void; importFile(): void; saveServer(): void }) {
  const clipboard = useRef<{ nodes: EditorNode[]; edges: Edge[] } | null>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTypingTarget(e.target)) return;
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === 'z') {
        e.preventDefault();
        if (e.shiftKey) redo();
        else undo();
      } else if (mod && key === 'y') {
        e.preventDefault();
        redo();
      } else if (mod && key === 'c') {
        const s = useEditor.getState();
        const sel = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
        // Copying a stack copies what is inside it.
        for (const n of s.nodes) if (n.parentId && sel.has(n.parentId)) sel.add(n.id);
        if (sel.size === 0) return;
        clipboard.current = { nodes: s.nodes.filter((n) => sel.has(n.id)), edges: s.edges.filter((ed) => sel.has(ed.source) && sel.has(ed.target)) };
        toast(`Copied ${sel.size} node${sel.size > 1 ? 's' : ''}.`);
      } else if (mod && key === 'v') {
        if (!clipboard.current) return;
        e.preventDefault();
        const copy = duplicate(clipboard.current.nodes, clipboard.current.edges, 40);
        clipboard.current = { nodes: copy.nodes, edges: copy.edges };
        useEditor.getState().addNodes(copy.nodes, copy.edges);
      } else if (mod && key === 'a') {
        e.preventDefault();
        const s = useEditor.getState();
        s.onNodesChange(s.nodes.map((n) => ({ type: 'select' as const, id: n.id, selected: true })));
      } else if (mod && key === 's') {
        e.preventDefault();
        actions.saveServer();
      } else if (mod && key === 'e') {
        e.preventDefault();
        actions.exportFile();
      } else if (mod && key === 'o') {
        e.preventDefault();
        actions.importFile();
      } else if (mod) {
        return;
      } else if (e.key === '?') {
        actions.toggleHelp();
      } else if (key === 'p') {
        actions.openPresets();
      } else if (key === 'l') {
        actions.layout();
      } else if (key === 'f' || key === '.') {
        window.dispatchEvent(new Event('miras:fit-view'));
      } else if (key === '/') {
        e.preventDefault();
        document.getElementById('palette-search')?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [actions]);
}

export function Editor() {
  const [tab, setTab] = useState<Tab>('model');
  const [galleryOpen, setGalleryOpen] = useState(false);
  const [helpOpen, setHelpOpen] = useState(false);
  const [adapter, setAdapter] = useState<AdapterDescription | null | undefined>(undefined);
  const fileInput = useRef<HTMLInputElement>(null);
  useAnalysisDriver(adapter);
  useAutosave();

  // Reload loses nothing: restore the autosaved design; with nothing saved, open the gallery.
  // A link to `/?design=<id>` (a fork from a shared page) opens that saved design instead.
  useEffect(() => {
    const params = new URLSearchParams(window.location.search);
    const designId = params.get('design');
    const saved = designId ? null : loadAutosave();
    if (saved) useEditor.getState().loadDesign(saved);
    useEditor.temporal.getState().clear();
    requestAnimationFrame(() => {
      if (!saved && !designId) setGalleryOpen(true);
      window.dispatchEvent(new Event('miras:fit-view'));
    });
    if (!designId) return;
    const version = Number(params.get('version')) || undefined;
    loadDesignFromServer(designId, version)
      .then((doc) => {
        useEditor.getState().loadDesign(doc);
        useEditor.temporal.getState().clear();
        window.history.replaceState(null, '', window.location.pathname);
        toast(`Opened “${doc.name}”.`);
        requestAnimationFrame(() => window.dispatchEvent(new Event('miras:fit-view')));
      })
      .catch((e: unknown) => {
        toast(e instanceof Error ? e.message : String(e), 'error');
        setGalleryOpen(true);
      });
  }, []);

  // Selecting or clicking a node brings up its inspector.
  useEffect(() => {
    const count = (nodes: EditorNode[]) => nodes.reduce((k, n) => k + (n.selected ? 1 : 0), 0);
    const unsub = useEditor.subscribe((s, prev) => {
      if (s.nodes !== prev.nodes && count(s.nodes) > 0 && count(s.nodes) !== count(prev.nodes)) setTab('inspect');
    });
    const onInspect = () => setTab('inspect');
    const onTab = (e: Event) => setTab((e as CustomEvent<Tab>).detail);
    window.addEventListener('miras:inspect', onInspect);
    window.addEventListener('miras:tab', onTab);
    return () => {
      unsub();
      window.removeEventListener('miras:inspect', onInspect);
      window.removeEventListener('miras:tab', onTab);
    };
  }, []);

  const layout = useCallback(async () => {
    const s = useEditor.getState();
    const laid = await layoutGraph(s.nodes, s.edges);
    s.replaceGraph(laid, s.edges);
    requestAnimationFrame(() => window.dispatchEvent(new Event('miras:fit-view')));
  }, []);

  const actions = useMemo(
    () => ({
    openPresets: () => setGalleryOpen(true),
    toggleHelp: () => setHelpOpen((h) => !h),
    layout: () => void layout(),
    exportFile: () => window.dispatchEvent(new Event('miras:export')),
    importFile: () => fileInput.current?.click(),
    saveServer: () => window.dispatchEvent(new Event('miras:save-server')),
    }),
    [layout],
  );
  useShortcuts(actions);
  const onAdapter = useCallback((a: AdapterDescription | null) => setAdapter(a), []);

  return (
    <div className="editor" data-testid="editor">
      <aside className="editor-palette" aria-label="Block palette">
        <div className="brand">
          Miras Studio <span className="muted">editor</span>
        </div>
        <Palette onAdd={(item) => window.dispatchEvent(new CustomEvent('miras:add-node', { detail: item }))} />
      </aside>
      <main className="editor-main">
        <Toolbar
          onPresets={actions.openPresets}
          onLayout={actions.layout}
          onHelp={actions.toggleHelp}
          fileInput={fileInput}
        />
        <div className="editor-canvas" data-testid="canvas">
          <ReactFlowProvider>
            <Canvas />
          </ReactFlowProvider>
        </div>
      </main>
      <aside className="editor-side">
        <div className="tabs" role="tablist">
          {(['inspect', 'model', 'train'] as Tab[]).map((t) => (
            <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'is-active' : ''} onClick={() => setTab(t)} data-testid={`tab-${t}`}>
              {t === 'inspect' ? 'Inspector' : t === 'model' ? 'Model' : 'Train'}
            </button>
          ))}
        </div>
        <div className="tab-body" hidden={tab !== 'inspect'}>
          <Inspector />
        </div>
        <div className="tab-body" hidden={tab !== 'model'}>
          <ModelPanel />
          <WebGpuStatus onReady={onAdapter} />
        </div>
        <div className="tab-body" hidden={tab !== 'train'}>
          <TrainTab />
        </div>
      </aside>
      {galleryOpen && <PresetsGallery onClose={() => setGalleryOpen(false)} />}
      {helpOpen && <ShortcutsHelp onClose={() => setHelpOpen(false)} />}
      <Toasts />
    </div>
  );
}

export default function EditorApp() {
  return <Editor />;
}
