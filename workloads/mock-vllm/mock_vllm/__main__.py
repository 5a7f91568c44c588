from mock_vllm.main import main

main()
