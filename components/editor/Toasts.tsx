'use client';
/** Transient messages (refused connections, import errors, saves), announced to screen readers. */
import { create } from 'zustand';

interface Toast {
  id: number;
  text: string;
  tone: 'info' | 'error' | 'ok';
  testId?: string;
}
const useToasts = create<{ items: Toast[] }>()(() => ({ items: [] }));
let next = 0;

/** A message with a test id replaces the earlier one of the same id, so repeats do not pile up over the canvas. */
export function toast(text: string, tone: Toast['tone'] = 'info', testId?: string, ms = 6000) {
  const id = ++next;
  useToasts.setState((s) => ({ items: [...s.items.filter((t) => !testId || t.testId !== testId).slice(-3), { id, text, tone, testId }] }));
  setTimeout(() => useToasts.setState((s) => ({ items: s.items.filter((t) => t.id !== id) })), ms);
}

export function Toasts() {
  const items = useToasts((s) => s.items);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {items.map((t) => (
        <div key={t.id} className={`toast toast--${t.tone}`} data-testid={t.testId ?? 'toast'}>
          {t.text}
          <button aria-label="Dismiss" onClick={() => useToasts.setState((s) => ({ items: s.items.filter((x) => x.id !== t.id) }))}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
