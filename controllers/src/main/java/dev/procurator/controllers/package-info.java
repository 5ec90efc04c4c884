/** The control loops that run beside the API server: the scheduler so far. */
package dev.procurator.controllers;
