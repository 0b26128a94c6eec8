// Relative presets and absolute from/to, with the browser's time zone shown.
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { REFRESH_OPTIONS, useTimeRange, type RefreshOption } from '../app/timeRange';
import { formatDateTime } from '../lib/format';
import { fromLocalInput, presetOf, RELATIVE_PRESETS, timeZoneLabel, toLocalInput } from '../lib/time';
import { Icon } from './Icon';
import './TimeRangePicker.css';

export function TimeRangePicker() {
  const { t } = useTranslation();
  const tr = useTimeRange();
  const [open, setOpen] = useState(false);
  const [fromText, setFromText] = useState('');
  const [toText, setToText] = useState('');
  const [invalid, setInvalid] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const preset = presetOf(tr.from, tr.to);

  useEffect(() => {
    if (!open) return;
    setFromText(toLocalInput(tr.startMs));
    setToText(toLocalInput(tr.endMs));
    setInvalid(false);
    const onDoc = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', onDoc);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDoc);
      document.removeEventListener('keydown', onKey);
    };
    // Only when opening: the inputs start from the range then shown.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open]);

  const label = preset
    ? t('time.last', { range: t(`time.preset.${preset}`) })
    : `${formatDateTime(tr.startMs)} – ${formatDateTime(tr.endMs)}`;

  const applyAbsolute = () => {
    const s = fromLocalInput(fromText);
    const e = fromLocalInput(toText);
    if (s === null || e === null || s >= e) {
      setInvalid(true);
      return;
    }
    tr.setRange(String(s), String(e));
    setOpen(false);
  };

  return (
    <div className="trp" ref={root}>
      <button
        type="button"
        className="btn trp-button"
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-label={`${t('time.range')}: ${label}`}
        onClick={() => setOpen((o) => !o)}
      >
        <Icon name="clock" />
        <span>{label}</span>
      </button>
      <button type="button" className="btn" onClick={tr.reload} aria-label={t('time.refreshNow')} title={t('time.refreshNow')}>
        <Icon name="refresh" />
      </button>
      <label className="sr-only" htmlFor="auto-refresh">
        {t('time.autoRefresh')}
      </label>
      <select
        id="auto-refresh"
        value={tr.refresh}
        onChange={(e) => tr.setRefresh(e.target.value as RefreshOption)}
        title={t('time.autoRefresh')}
      >
        {REFRESH_OPTIONS.map((o) => (
          <option key={o} value={o}>
            {o === 'off' ? t('time.refreshOff') : t('time.every', { interval: o })}
          </option>
        ))}
      </select>
      {open && (
        <div className="trp-pop" role="dialog" aria-label={t('time.range')}>
          <div className="trp-presets">
            <div className="trp-heading">{t('time.relative')}</div>
            {RELATIVE_PRESETS.map((p) => (
              <button
                key={p}
                type="button"
                className={`trp-preset ${preset === p ? 'active' : ''}`}
                aria-pressed={preset === p}
                onClick={() => {
                  tr.setRange(`now-${p}`, 'now');
                  setOpen(false);
                }}
              >
                {t('time.last', { range: t(`time.preset.${p}`) })}
              </button>
            ))}
          </div>
          <form
            className="trp-abs"
            onSubmit={(e) => {
              e.preventDefault();
              applyAbsolute();
            }}
          >
            <div className="trp-heading">{t('time.absolute')}</div>
            <div className="field">
              <label htmlFor="trp-from">{t('time.from')}</label>
              <input id="trp-from" type="datetime-local" value={fromText} onChange={(e) => setFromText(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="trp-to">{t('time.to')}</label>
              <input id="trp-to" type="datetime-local" value={toText} onChange={(e) => setToText(e.target.value)} />
            </div>
            {invalid && (
              <p className="form-error" role="alert">
                {t('time.invalid')}
              </p>
            )}
            <button type="submit" className="btn btn-primary">
              {t('time.apply')}
            </button>
            <div className="trp-zone">
              {t('time.zone')}: {timeZoneLabel()}
            </div>
          </form>
        </div>
      )}
    </div>
  );
}
