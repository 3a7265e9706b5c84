'use client';
/** Top bar: design name, presets, undo/redo, layout, file import/export, save to server, totals. */
import { memo, useEffect, useRef, useState, type RefObject } from 'react';
import { useStore } from 'zustand';
import { DesignFileError } from '@/engine/design/document';
import { formatCount } from '@/engine/design/cost';
import { useAnalysis } from './analysisStore';
import { useEditor, undo, redo } from './store';
import { currentDesign, downloadDesign, readDesignFile } from './persistence';
import { saveDesignToServer } from './serverDesigns';
import { toast } from './Toasts';

const COMPILE_LABEL: Record<string, string> = { ok: 'compiles', checking: 'checking…', error: 'does not compile', 'no-gpu': 'no WebGPU', idle: '—' };

function Totals() {
  const costs = useAnalysis((s) => s.costs);
  const errors = useAnalysis((s) => s.analysis?.issues.filter((i) => i.severity === 'error').length ?? 0);
  const compile = useAnalysis((s) => s.compile);
  const lowered = useAnalysis((s) => s.analysis?.spec != null);
  const showModel = () => window.dispatchEvent(new CustomEvent('miras:tab', { detail: 'model' }));
  if (lowered && !costs) return <span className="totals">counting…</span>;
  if (!costs) {
    return (
      <button className="totals totals--error linklike" onClick={showModel} title="Show the issues (Model tab)" data-testid="toolbar-status">
        {errors} error{errors === 1 ? '' : 's'}
      </button>
    );
  }
  return (
    <span className="totals" data-testid="toolbar-status">
      <b data-testid="toolbar-params">{formatCount(costs.total.params)}</b> params<span className="totals-flops"> · {formatCount(costs.total.flopsPerToken)} FLOPs/tok</span>{' '}
      <button className={`pill pill--${compile.state}`} title={`${compile.message}\n(click for the Model tab)`} onClick={showModel} data-testid="toolbar-compile">
        {COMPILE_LABEL[compile.state] ?? '—'}
      </button>
    </span>
  );
}

/** Small stroke icons (currentColor), so the toolbar stays one row at 1280 px. */
const ICONS = {
  undo: 'M9 14 4 9l5-5M4 9h10.5a5.5 5.5 0 0 1 0 11H11',
  redo: 'm15 14 5-5-5-5M20 9H9.5a5.5 5.5 0 0 0 0 11H13',
  layout: 'M4 3h7v5H4zM13 10h7v5h-7zM4 16h7v5H4zM7.5 8v8M11 12.5h2',
  file: 'M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8zM14 3v5h5',
  help: 'M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3M12 17h.01',
} as const;
function Icon({ name }: { name: keyof typeof ICONS }) {
  return (
    <svg className="icon" viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d={ICONS[name]} />
    </svg>
  );
}

/** The File menu: import, export, save to the server (each also on a shortcut). */
function FileMenu({ onImport, onExport, onSave, saving }: { onImport(): void; onExport(): void; onSave(): void; saving: boolean }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const away = (e: PointerEvent) => root.current && !root.current.contains(e.target as Node) && setOpen(false);
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    window.addEventListener('pointerdown', away);
    window.addEventListener('keydown', esc);
    return () => {
      window.removeEventListener('pointerdown', away);
      window.removeEventListener('keydown', esc);
    };
  }, [open]);
  const item = (label: string, keys: string, testId: string, run: () => void, disabled = false) => (
    <button
      role="menuitem"
      data-testid={testId}
      disabled={disabled}
      onClick={() => {
        setOpen(false);
        run();
      }}
    >
      <span>{label}</span>
      <kbd>{keys}</kbd>
    </button>
  );
  return (
    <div className="menu" ref={root}>
      <button aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen((o) => !o)} title="Import, export, save to the server" data-testid="file-menu">
        <Icon name="file" /> File ▾
      </button>
      {open && (
        <div className="menu-list" role="menu" data-testid="file-menu-list">
          {item('Import a design file…', 'Ctrl+O', 'import', onImport)}
          {item('Export the design file', 'Ctrl+E', 'export', onExport)}
          {item(saving ? 'Saving…' : 'Save to the server', 'Ctrl+S', 'save-server', onSave, saving)}
        </div>
      )}
    </div>
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
    <div className="toolbar" role="toolbar" aria-label="Design" data-testid="toolbar">
      <input className="design-name" aria-label="Design name" title="Design name (used for files, saves and runs)" value={name} onChange={(e) => setName(e.target.value)} data-testid="design-name" />
      <button className="primary" onClick={onPresets} title="Presets gallery (P)" data-testid="open-presets">
        Presets
      </button>
      <span className="sep" />
      <button className="icon-button" onClick={undo} disabled={!canUndo} title="Undo (Ctrl+Z)" aria-label="Undo" data-testid="undo">
        <Icon name="undo" />
      </button>
      <button className="icon-button" onClick={redo} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)" aria-label="Redo" data-testid="redo">
        <Icon name="redo" />
      </button>
      <button className="icon-button" onClick={onLayout} title="Auto-layout (L)" aria-label="Auto-layout" data-testid="auto-layout">
        <Icon name="layout" />
      </button>
      <span className="sep" />
      <FileMenu onImport={() => fileInput.current?.click()} onExport={exportFile} onSave={() => void save()} saving={saving} />
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
      <span className="grow" />
      <Totals />
      <button className="primary" onClick={() => window.dispatchEvent(new CustomEvent('miras:tab', { detail: 'train' }))} title="Train this design in the browser" data-testid="go-train">
        Train ▸
      </button>
      <button className="icon-button" onClick={onHelp} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts" data-testid="help">
        <Icon name="help" />
      </button>
    </div>
  );
});
