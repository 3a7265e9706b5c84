'use client';
/**
 * The minimap, drawn on one <canvas>. React Flow's <MiniMap> is a React component per node, so
 * dragging 300 selected nodes re-rendered 300 minimap nodes on every frame (about a third of the
 * script time per frame in bench/editor-frames.ts). This one subscribes to React Flow's store and
 * redraws a software canvas at most every 80 ms, with no React work per node. Click or drag on it to
 * move the view there; the wheel over it zooms the view about its centre, as React Flow's <MiniMap
 * pannable zoomable> does; the rectangle is what the canvas shows.
 */
import { Panel, useReactFlow, useStoreApi, type ReactFlowState } from '@xyflow/react';
import { useEffect, useRef } from 'react';

const W = 200;
const H = 150;
const PAD = 8;
const MIN_INTERVAL_MS = 80;
/** log2 zoom per wheel pixel (line and page modes scaled as React Flow's MiniMap does). */
const WHEEL_ZOOM = { pixel: 0.002, line: 0.05, page: 1 };

interface Frame {
  /** flow → minimap: mx = (x - ox) * k + PAD */
  ox: number;
  oy: number;
  k: number;
}

export function CanvasMiniMap({ colorOf, label = 'Minimap' }: { colorOf: (type: string | undefined) => string; label?: string }) {
  const store = useStoreApi();
  const { setCenter, zoomTo } = useReactFlow();
  const canvas = useRef<HTMLCanvasElement>(null);
  const frame = useRef<Frame>({ ox: 0, oy: 0, k: 1 });

  useEffect(() => {
    const el = canvas.current;
    // A software canvas: with GPU raster (SwiftShader here) every redraw went through the GPU
    // process and held back the next frame while dragging.
    const ctx = el?.getContext('2d', { willReadFrequently: true });
    if (!el || !ctx) return;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    el.width = W * dpr;
    el.height = H * dpr;
    let raf = 0;
    const draw = () => {
      raf = 0;
      const s: ReactFlowState = store.getState();
      const [tx, ty, zoom] = s.transform;
      const view = { x: -tx / zoom, y: -ty / zoom, w: s.width / zoom, h: s.height / zoom };
      let x0 = view.x;
      let y0 = view.y;
      let x1 = view.x + view.w;
      let y1 = view.y + view.h;
      const boxes: { x: number; y: number; w: number; h: number; type?: string }[] = [];
      for (const n of s.nodeLookup.values()) {
        if (n.hidden) continue;
        const p = n.internals.positionAbsolute;
        const w = n.measured.width ?? n.width ?? 0;
        const h = n.measured.height ?? n.height ?? 0;
        boxes.push({ x: p.x, y: p.y, w, h, type: n.type });
        x0 = Math.min(x0, p.x);
        y0 = Math.min(y0, p.y);
        x1 = Math.max(x1, p.x + w);
        y1 = Math.max(y1, p.y + h);
      }
      const k = Math.min((W - 2 * PAD) / Math.max(1, x1 - x0), (H - 2 * PAD) / Math.max(1, y1 - y0));
      // Centre the content in the minimap.
      const ox = x0 - ((W - 2 * PAD) / k - (x1 - x0)) / 2;
      const oy = y0 - ((H - 2 * PAD) / k - (y1 - y0)) / 2;
      frame.current = { ox, oy, k };
      const mx = (x: number) => (x - ox) * k + PAD;
      const my = (y: number) => (y - oy) * k + PAD;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, W, H);
      ctx.fillStyle = '#161a21';
      ctx.fillRect(0, 0, W, H);
      for (const b of boxes) {
        if (b.type === 'stack') {
          ctx.strokeStyle = '#5b6b85';
          ctx.strokeRect(mx(b.x) + 0.5, my(b.y) + 0.5, b.w * k, b.h * k);
        } else {
          ctx.fillStyle = colorOf(b.type);
          ctx.fillRect(mx(b.x), my(b.y), Math.max(1, b.w * k), Math.max(1, b.h * k));
        }
      }
      // Dim what the canvas does not show; outline what it does.
      ctx.fillStyle = 'rgba(15,17,21,0.6)';
      ctx.beginPath();
      ctx.rect(0, 0, W, H);
      ctx.rect(mx(view.x), my(view.y), view.w * k, view.h * k);
      ctx.fill('evenodd');
      ctx.strokeStyle = '#6aa9ff';
      ctx.strokeRect(mx(view.x) + 0.5, my(view.y) + 0.5, view.w * k, view.h * k);
    };
    // At most one redraw per MIN_INTERVAL_MS: plenty for a 200 px overview, and nothing per frame
    // competes with a drag.
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const schedule = () => {
      if (raf || timer) return;
      const wait = last + MIN_INTERVAL_MS - performance.now();
      const go = () => {
        timer = null;
        raf = requestAnimationFrame((t) => {
          last = t;
          draw();
        });
      };
      if (wait > 0) timer = setTimeout(go, wait);
      else go();
    };
    schedule();
    // Wheel: zoom the view about its centre. A native listener, since React's wheel listeners are passive and
    // the page must not scroll; the canvas is `nowheel`, so React Flow's pane does not zoom as well.
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const s = store.getState();
      const perUnit = e.deltaMode === 1 ? WHEEL_ZOOM.line : e.deltaMode === 2 ? WHEEL_ZOOM.page : WHEEL_ZOOM.pixel;
      const next = Math.min(s.maxZoom, Math.max(s.minZoom, s.transform[2] * 2 ** (-e.deltaY * perUnit)));
      if (next !== s.transform[2]) void zoomTo(next);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    const unsub = store.subscribe((s, prev) => {
      if (s.nodes !== prev.nodes || s.transform !== prev.transform || s.width !== prev.width || s.height !== prev.height || s.nodeLookup !== prev.nodeLookup) schedule();
    });
    return () => {
      el.removeEventListener('wheel', onWheel);
      unsub();
      if (raf) cancelAnimationFrame(raf);
      if (timer) clearTimeout(timer);
    };
  }, [store, colorOf, zoomTo]);

  const moveTo = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const { ox, oy, k } = frame.current;
    const zoom = store.getState().transform[2];
    void setCenter((e.clientX - r.left - PAD) / k + ox, (e.clientY - r.top - PAD) / k + oy, { zoom });
  };
  return (
    <Panel position="bottom-right" className="minimap">
      <canvas
        ref={canvas}
        className="nowheel"
        style={{ width: W, height: H, display: 'block', cursor: 'pointer' }}
        aria-label={label}
        role="img"
        data-testid="minimap"
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          moveTo(e);
        }}
        onPointerMove={(e) => {
          if (e.buttons & 1) moveTo(e);
        }}
      />
    </Panel>
  );
}
