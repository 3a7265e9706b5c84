'use client';
/**
 * The block palette: Structure plus the four Miras axes, every entry read from the grammar and
 * the Miras catalog (a new catalog entry shows up here with no UI code). Drag an item onto the
 * canvas, or press Enter (or double-click) to add it under the selected block, connected to it
 * (at the centre of the view when nothing is selected).
 */
import { memo, useMemo, useState } from 'react';
import { AXES, AXIS_LABEL } from '@/engine/spec';
import { STRUCTURE_DEFS, STRUCTURE_TYPES } from '@/engine/design/grammar';
import { axisEntries } from '@/engine/design/catalog';

export const DRAG_MIME = 'application/x-miras-node';

export interface PaletteItem {
  type: string;
  kind?: string;
  title: string;
  summary: string;
  detail?: string;
}

interface Group {
  id: string;
  title: string;
  items: PaletteItem[];
}

function buildGroups(): Group[] {
  return [
    {
      id: 'structure',
      title: 'Structure',
      items: STRUCTURE_TYPES.map((t) => ({ type: t, title: STRUCTURE_DEFS[t].title, summary: STRUCTURE_DEFS[t].summary })),
    },
    ...AXES.map((axis) => ({
      id: axis,
      title: AXIS_LABEL[axis],
      items: axisEntries(axis).map((e) => ({ type: axis, kind: e.kind, title: e.label, summary: e.summary, detail: [e.citation, e.usedBy.join(', ')].filter(Boolean).join(' · ') })),
    })),
  ];
}

export const Palette = memo(function Palette({ onAdd }: { onAdd: (item: PaletteItem) => void }) {
  const groups = useMemo(buildGroups, []);
  const [query, setQuery] = useState('');
  const q = query.trim().toLowerCase();
  const shown = groups
    .map((g) => ({ ...g, items: q ? g.items.filter((i) => `${i.title} ${i.summary} ${i.kind ?? ''} ${i.detail ?? ''} ${g.title}`.toLowerCase().includes(q)) : g.items }))
    .filter((g) => g.items.length > 0);
  return (
    <div className="palette" data-testid="palette">
      <input
        className="palette-search"
        type="search"
        placeholder="Search blocks…  (/)"
        aria-label="Search blocks"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        data-testid="palette-search"
        id="palette-search"
      />
      {shown.length === 0 && <p className="muted">No block matches “{query}”.</p>}
      {shown.map((g) => (
        <section key={g.id} className={`palette-group palette-group--${g.id}`}>
          <h2>{g.title}</h2>
          <ul>
            {g.items.map((item) => (
              <li
                key={`${item.type}:${item.kind ?? ''}`}
                className={`palette-item palette-item--${g.id}`}
                draggable
                tabIndex={0}
                role="button"
                data-testid={`palette-${item.type}${item.kind ? `-${item.kind}` : ''}`}
                title={`${item.summary}${item.detail ? `\n${item.detail}` : ''}\nDrag onto the canvas, or press Enter / double-click: it goes under the selected block, connected.`}
                onDragStart={(e) => {
                  e.dataTransfer.setData(DRAG_MIME, JSON.stringify({ type: item.type, kind: item.kind }));
                  e.dataTransfer.effectAllowed = 'move';
                }}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    onAdd(item);
                  }
                }}
                onDoubleClick={() => onAdd(item)}
              >
                <span className="palette-item-title">{item.title}</span>
                <span className="palette-item-sub">{item.summary}</span>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
});
