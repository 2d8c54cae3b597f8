/*
 * The dispatcher's version, printed by --version.
 */

#ifndef EM_DISPATCHER_VERSION_H
#define EM_DISPATCHER_VERSION_H

#define EM_DISPATCHER_VERSION  "0.1.0"

#endif /* EM_DISPATCHER_VERSION_H */
