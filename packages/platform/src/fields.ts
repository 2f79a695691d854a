// The field schemas live with the contracts (answers and requests other services read use them).
export { calendarDate, timestamp, YEAR_RANGE } from '@caregrid/contracts';
