'use client';
/**
 * The presets gallery, the obvious first step: one click loads any engine preset as an
 * editable graph (specToDesign); "Blank" starts empty. Cards show each preset's four Miras
 * choices, read from the spec it builds and labelled by the catalog.
 */
import { useEffect, useMemo, useState } from 'react';
import { AXES, AXIS_LABEL } from '@/engine/spec';
import { emptyDesign } from '@/engine/design/document';
import { useEditor } from './store';
import { galleryPresets, presetDesign, PRESET_SIZE } from './presets';
import { toast } from './Toasts';

export function PresetsGallery({ onClose }: { onClose: () => void }) {
  const presets = useMemo(() => galleryPresets(), []);
  const [query, setQuery] = useState('');
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  const load = (name: string | null) => {
    try {
      const doc = name ? presetDesign(presets.find((p) => p.preset.name === name)!.preset) : emptyDesign();
      useEditor.getState().loadDesign(doc);
      onClose();
      requestAnimationFrame(() => window.dispatchEvent(new Event('miras:fit-view')));
    } catch (e) {
      toast(`Could not load the preset: ${(e as Error).message}`, 'error');
    }
  };
  const q = query.trim().toLowerCase();
  const shown = presets.filter((p) => !q || `${p.preset.name} ${p.preset.title} ${p.preset.description} ${p.axes.join(' ')}`.toLowerCase().includes(q));
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal" role="dialog" aria-label="Presets" data-testid="presets-gallery" onClick={(e) => e.stopPropagation()}>
        <div className="modal-head">
          <h2>Start from a model</h2>
          <input type="search" placeholder="Filter presets…" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus aria-label="Filter presets" />
          <button onClick={onClose} aria-label="Close">
            ×
          </button>
        </div>
        <p className="muted">
          Each preset loads as an editable graph at d_model {PRESET_SIZE.dModel}, {PRESET_SIZE.nLayers} layers, vocabulary {PRESET_SIZE.vocabSize}. Change anything afterwards.
          The four Miras axes are {AXES.map((a) => AXIS_LABEL[a]).join(', ')}.
        </p>
        <div className="preset-grid">
          <button className="preset-card preset-card--blank" onClick={() => load(null)} data-testid="preset-blank">
            <span className="preset-title">Blank</span>
            <span className="preset-desc">An empty canvas. Add blocks from the palette in model order: Enter (or a double-click) puts each under the previous one, connected.</span>
          </button>
          {shown.map(({ preset, axes, error }) => (
            <button key={preset.name} className="preset-card" onClick={() => load(preset.name)} data-testid={`preset-${preset.name}`} disabled={!!error} title={error ?? preset.citation}>
              <span className="preset-title">
                {preset.title} <code>{preset.name}</code>
              </span>
              <span className="preset-desc">{preset.description}</span>
              {axes.map((a) => (
                <span key={a} className="preset-axes">
                  {a}
                </span>
              ))}
              {error && <span className="err-text">{error}</span>}
            </button>
          ))}
        </div>
      </div>
    </div>
  );
}
