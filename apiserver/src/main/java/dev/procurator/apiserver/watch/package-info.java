/**
 * The watch cache: one upstream storage watch per resource type, a bounded ring of recent
 * events, and fan-out to every client watch. A client that falls behind is cut off with 410 Gone
 * so it relists; it never slows the others or grows memory without bound.
 */
package dev.procurator.apiserver.watch;
