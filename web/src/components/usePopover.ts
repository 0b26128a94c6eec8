// A button that opens a non-modal popup beside it (the time picker, the
// account panel). Focus moves into the popup when it opens (to its
// [data-autofocus] element, else the popup itself); Escape closes it and
// puts focus back on the button; a click outside, or focus leaving (Tab
// past its last control), closes it where the person went. The popup
// follows its button in the DOM, so Tab order runs button → popup → on.
import { useCallback, useEffect, useId, useRef, useState, type FocusEvent } from 'react';

export function usePopover(onOpen?: () => void) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const popup = useRef<HTMLDivElement>(null);
  const id = useId();

  const close = useCallback((returnFocus: boolean) => {
    setOpen(false);
    if (returnFocus) trigger.current?.focus();
  }, []);

  useEffect(() => {
    if (!open) return;
    const el = popup.current;
    (el?.querySelector<HTMLElement>('[data-autofocus]') ?? el)?.focus();
    const onDoc = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) close(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      close(true);
    };
    document.addEventListener('mousedown', onDoc);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDoc);
      document.removeEventListener('keydown', onKey);
    };
  }, [open, close]);

  const onBlur = (e: FocusEvent) => {
    // No related target: the window lost focus, or a click on nothing
    // focusable (handled by the mousedown above); the popup stays.
    const next = e.relatedTarget as Node | null;
    if (next && !root.current?.contains(next)) close(false);
  };

  return {
    open,
    close,
    rootProps: { ref: root, onBlur },
    triggerProps: {
      ref: trigger,
      'aria-haspopup': 'dialog' as const,
      'aria-expanded': open,
      // Only while the popup exists: a reference to a missing id is an error.
      'aria-controls': open ? id : undefined,
      onClick: () => {
        if (!open) onOpen?.();
        setOpen(!open);
      },
    },
    popupProps: { ref: popup, id, role: 'dialog', tabIndex: -1 },
  };
}
