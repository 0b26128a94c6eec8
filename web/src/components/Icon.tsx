// Small inline icons (stroke paths), decorative: the label carries meaning.
const PATHS: Record<string, string> = {
  services: 'M4 5h16v4H4zM4 11h16v4H4zM4 17h16v3H4z',
  map: 'M5 6a2 2 0 1 0 0 .01M19 6a2 2 0 1 0 0 .01M12 18a2 2 0 1 0 0 .01M6.5 7.5l4.5 9M17.5 7.5l-4.5 9M7 6h10',
  traces: 'M3 6h10M6 10h12M9 14h8M12 18h9',
  logs: 'M5 4h14v16H5zM8 8h8M8 12h8M8 16h5',
  metrics: 'M4 19l5-7 4 4 7-10M4 4v15h16',
  anomalies: 'M3 12h4l3-7 4 14 3-7h4',
  delta: 'M4 20V10h4v10M10 20V4h4v16M16 20v-7h4v7M3 20h18',
  alerts: 'M6 16v-5a6 6 0 0 1 12 0v5l2 2H4zM10 21h4',
  firing: 'M12 3l9.5 17h-19zM12 10v4.5M12 17.5v.01',
  notifications: 'M3 11l18-8-8 18-2-8zM11 13l10-10',
  silences: 'M6 16v-5a6 6 0 0 1 9.6-4.8M18 11v5l2 2H8M4 18h2M10 21h4M3 3l18 18',
  tokens: 'M14 7a4 4 0 1 1-3.5 6l-6.5 6-1.5-1.5 1.5-1.5-1.5-1.5 1.5-1.5 1.5 1.5 3-3A4 4 0 0 1 14 7z',
  sun: 'M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10zM12 1v3M12 20v3M4.2 4.2l2.1 2.1M17.7 17.7l2.1 2.1M1 12h3M20 12h3M4.2 19.8l2.1-2.1M17.7 6.3l2.1-2.1',
  moon: 'M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z',
  refresh: 'M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7',
  user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0',
  chevronRight: 'M9 6l6 6-6 6',
  chevronDown: 'M6 9l6 6 6-6',
  copy: 'M9 9h11v11H9zM5 15H4V4h11v1',
  search: 'M10.5 4a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM15.5 15.5L20 20',
  close: 'M6 6l12 12M18 6L6 18',
  clock: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 3',
};

export function Icon({ name, size = 16 }: { name: keyof typeof PATHS | string; size?: number }) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d={PATHS[name] ?? ''} />
    </svg>
  );
}
