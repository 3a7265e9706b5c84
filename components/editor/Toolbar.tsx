'use client';
/** Top bar: design name, presets, undo/redo, layout, file import/export, save to server, totals. */
import { memo, useEffect, useState, type RefObject } from 'react';
import { useStore } from 'zustand';
import { DesignFileError } from '@/engine/design/document';
import { formatCount } from '@/engine/design/cost';
import { useAnalysis } from './analysisStore';
import { useEditor, undo, redo } from './store';
import { currentDesign, downloadDesign, readDesignFile } from './persistence';
import { saveDesignToServer } from './serverDesigns';
import { toast } from './Toasts';

function Totals() {
  const costs = useAnalysis((s) => s.costs);
  const errors = useAnalysis((s) => s.analysis?.issues.filter((i) => i.severity === 'error').length ?? 0);
  const compile = useAnalysis((s) => s.compile);
  const lowered = useAnalysis((s) => s.analysis?.spec != null);
  if (lowered && !costs) return <span className="totals">counting…</span>;
  if (!costs) {
    return (
      <span className="totals totals--error" data-testid="toolbar-status">
        {errors} error{errors === 1 ? '' : 's'}
      </span>
    );
  }
  return (
    <span className="totals" data-testid="toolbar-status">
      <b data-testid="toolbar-params">{formatCount(costs.total.params)}</b> params · {formatCount(costs.total.flopsPerToken)} FLOPs/token ·{' '}
      <span className={`pill pill--${compile.state}`} title={compile.message}>
        {compile.state === 'ok' ? 'compiles' : compile.state === 'checking' ? 'checking…' : compile.state === 'error' ? 'does not compile' : compile.state === 'no-gpu' ? 'no WebGPU' : '—'}
      </span>
    </span>
  );
}

export const Toolbar = memo(function Toolbar({ onPresets, onLayout, onHelp, fileInput }: { onPresets(): void; onLayout(): void; onHelp(): void; fileInput: RefObject<HTMLInputElement | null> }) {
  const name = useEditor((s) => s.name);
  const setName = useEditor((s) => s.setName);
  const canUndo = useStore(useEditor.temporal, (s) => s.pastStates.length > 0);
  const canRedo = useStore(useEditor.temporal, (s) => s.futureStates.length > 0);
  const [saving, setSaving] = useState(false);

  const exportFile = () => {
    downloadDesign(currentDesign());
    toast('Design exported.', 'ok');
  };
  const save = async () => {
    setSaving(true);
    try {
      const r = await saveDesignToServer(currentDesign());
      toast(`Saved “${r.name}” to the server.`, 'ok', 'save-ok');
    } catch (e) {
      toast(`Could not save to the server: ${(e as Error).message}`, 'error', 'save-error', 10000);
    } finally {
      setSaving(false);
    }
  };
  useEffect(() => {
    const onExport = () => exportFile();
    const onSave = () => void save();
    window.addEventListener('miras:export', onExport);
    window.addEventListener('miras:save-server', onSave);
    return () => {
      window.removeEventListener('miras:export', onExport);
      window.removeEventListener('miras:save-server', onSave);
    };
  });

  return (
    <div className="toolbar" role="toolbar" aria-label="Design">
      <input className="design-name" aria-label="Design name" value={name} onChange={(e) => setName(e.target.value)} data-testid="design-name" />
      <button className="primary" onClick={onPresets} title="Presets gallery (P)" data-testid="open-presets">
        Presets
      </button>
      <span className="sep" />
      <button onClick={undo} disabled={!canUndo} title="Undo (Ctrl+Z)" data-testid="undo">
        Undo
      </button>
      <button onClick={redo} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)" data-testid="redo">
        Redo
      </button>
      <button onClick={onLayout} title="Auto-layout (L)" data-testid="auto-layout">
        Layout
      </button>
      <span className="sep" />
      <button onClick={() => fileInput.current?.click()} title="Import a design file (Ctrl+O)" data-testid="import">
        Import
      </button>
      <input
        ref={fileInput}
        type="file"
        accept=".json,application/json"
        hidden
        data-testid="import-input"
        onChange={async (e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (!file) return;
          try {
            const doc = await readDesignFile(file);
            useEditor.getState().loadDesign(doc);
            toast(`Imported “${doc.name}”.`, 'ok', 'import-ok');
            requestAnimationFrame(() => window.dispatchEvent(new Event('miras:fit-view')));
          } catch (err) {
            const msg = err instanceof DesignFileError ? err.message : `Could not read ${file.name}: ${(err as Error).message}`;
            toast(msg, 'error', 'import-error', 15000);
          }
        }}
      />
      <button onClick={exportFile} title="Export the design file (Ctrl+E)" data-testid="export">
        Export
      </button>
      <button onClick={() => void save()} disabled={saving} title="Save to the server as a named design (Ctrl+S)" data-testid="save-server">
        {saving ? 'Saving…' : 'Save'}
      </button>
      <span className="grow" />
      <Totals />
      <button className="primary" onClick={() => window.dispatchEvent(new CustomEvent('miras:tab', { detail: 'train' }))} title="Train this design in the browser" data-testid="go-train">
        Train ▸
      </button>
      <button onClick={onHelp} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts" data-testid="help">
        ?
      </button>
    </div>
  );
});
