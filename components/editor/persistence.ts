'use client';
/** Autosave (localStorage), file export/import, and saving a named design to the server. */
import { useEffect } from 'react';
import { DesignFileError, parseDesign, serializeDesign, type DesignDoc } from '@/engine/design/document';
import { flowToDesign, useEditor } from './store';

export const AUTOSAVE_KEY = 'miras-studio:design:v1';

export function currentDesign(): DesignDoc {
  return flowToDesign(useEditor.getState());
}

export function loadAutosave(): DesignDoc | null {
  try {
    const raw = localStorage.getItem(AUTOSAVE_KEY);
    return raw ? parseDesign(raw) : null;
  } catch {
    return null;
  }
}

/** Writes the design to localStorage 300 ms after the last change (moves included). */
export function useAutosave() {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const unsub = useEditor.subscribe((s, prev) => {
      if (s.nodes === prev.nodes && s.edges === prev.edges && s.name === prev.name) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        try {
          localStorage.setItem(AUTOSAVE_KEY, serializeDesign(currentDesign()));
        } catch {
          // Quota or private mode: the design stays in memory.
        }
      }, 300);
    });
    return () => {
      unsub();
      if (timer) clearTimeout(timer);
    };
  }, []);
}

export function fileNameFor(name: string): string {
  return `${name.trim().replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'design'}.miras.json`;
}

export function downloadDesign(doc: DesignDoc) {
  const blob = new Blob([serializeDesign(doc)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileNameFor(doc.name);
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Reads a design file; throws DesignFileError with a message for the user. */
export async function readDesignFile(file: File): Promise<DesignDoc> {
  if (file.size > 20 * 1024 * 1024) throw new DesignFileError(`${file.name} is ${(file.size / 1048576).toFixed(1)} MiB; a design file is at most 20 MiB.`);
  return parseDesign(await file.text());
}
