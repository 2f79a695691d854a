// First start of the dev MongoDB (docker-entrypoint-initdb.d, run by mongosh): the
// analytics_service user, owner of its database; password from Secret `mongo-init`.
/* global db */
db.getSiblingDB('analytics_service').createUser({
  user: 'analytics_service',
  pwd: process.env.ANALYTICS_DB_PASSWORD,
  roles: [{ role: 'dbOwner', db: 'analytics_service' }],
});
