// Errors of the orchestrator API: subclasses of the package's root PluginError (core/errors.ts), so a caller
// switches on one `code` namespace whichever layer failed. Each carries the context a caller acts on.
import {
  ConflictError,
  InvalidOptionError,
  NotFoundError,
  PluginError,
  show,
  WiringError,
} from '../core/errors.js';

/**
 * A request field was wrong: the message names the field, the value and what is allowed. Nothing changed.
 * Code PLUGIN_ERR_INVALID_OPTION, like a bad `-o` option of the driver.
 */
export class OrchestratorArgumentError extends InvalidOptionError {
  get field(): string {
    return this.option;
  }
}

/** The Docker Engine API failed (socket unreachable, HTTP error, bad reply). Code PLUGIN_ERR_INTERNAL. */
export class DockerApiError extends PluginError {
  readonly statusCode: number | undefined;
  constructor(message: string, statusCode?: number, options?: { cause?: unknown }) {
    super('PLUGIN_ERR_INTERNAL', message, options);
    this.statusCode = statusCode;
  }
}

/**
 * The process, container or namespace to attach to does not exist (any more): it exited before or during
 * the call. Code PLUGIN_ERR_NOT_FOUND; whatever the attach had done was undone.
 */
export class TargetGoneError extends NotFoundError {}

/** No port is recorded for this container and interface. Code PLUGIN_ERR_NOT_FOUND. */
export class NotAttachedError extends NotFoundError {}

/** The interface is already attached on another bridge. Code PLUGIN_ERR_CONFLICT. */
export class AlreadyAttachedError extends ConflictError {}

/** An attach failed part-way and was rolled back (`rollbackErrors` lists what could not be). Code PLUGIN_ERR_WIRING. */
export class AttachFailedError extends WiringError {}

export { PluginError, show };
