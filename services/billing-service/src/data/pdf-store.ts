import type { Sidecar } from '@caregrid/platform';

/**
 * Invoice PDFs kept through a Dapr output binding (`invoice-storage`:
 * bindings.localstorage locally; object storage is a change of YAML only).
 */
export class PdfStore {
  constructor(
    private readonly sidecar: Sidecar,
    private readonly binding: string,
  ) {}

  async save(fileName: string, pdf: Buffer): Promise<void> {
    // The binding base64-decodes string data, so binary survives the JSON API.
    await this.sidecar.invokeBinding(this.binding, 'create', pdf.toString('base64'), { fileName });
  }

  /** The stored file as a stream, or undefined when it is not there. */
  async open(fileName: string): Promise<Response | undefined> {
    return this.sidecar.bindingStream(this.binding, 'get', { fileName });
  }
}
