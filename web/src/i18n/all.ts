// Every string of each language at once, for the unit tests; the app loads
// them in parts (index.ts).
import alertsEn from './alerts.en.json';
import alertsKo from './alerts.ko.json';
import coreEn from './en.json';
import coreKo from './ko.json';
import deltaEn from './delta.en.json';
import deltaKo from './delta.ko.json';

export const en = { ...coreEn, ...alertsEn, ...deltaEn };
export const ko = { ...coreKo, ...alertsKo, ...deltaKo };
/** Each part's top-level sections: a section lives in one part only. */
export const PARTS = { core: Object.keys(coreEn), alerts: Object.keys(alertsEn), delta: Object.keys(deltaEn) };
